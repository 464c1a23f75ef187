// The cart page and the checkout.

import * as cart from "./cart.js";
import { picture } from "./catalog.js";
import { busy, field, h, price, show, tell } from "./dom.js";
import { isSignedIn } from "./session.js";

// The sandbox provider's test payment methods (docs/API.md, Payment): tokens, never card numbers.
export const TEST_METHODS = [
  ["pm_card_visa", "Test Visa card (approved)"],
  ["pm_card_mastercard", "Test Mastercard (approved)"],
  ["pm_card_chargeDeclined", "Test card that is declined"],
  ["pm_card_chargeDeclinedInsufficientFunds", "Test card with insufficient funds"],
];

function warningText(warning, line, currency) {
  const name = line ? line.name : "A product";
  switch (warning.code) {
    case "price_changed":
      return `${name}: the price changed from ${price(warning.old_price, currency)} to ${price(warning.new_price, currency)}.`;
    case "insufficient_stock":
      return warning.available > 0 ? `${name}: only ${warning.available} left; lower the quantity.` : `${name}: out of stock; remove it to check out.`;
    case "unavailable":
      return `${name} is no longer sold; remove it to check out.`;
    default:
      return `${name}: ${warning.code.replaceAll("_", " ")}.`;
  }
}

function lineRow(line, currency, redraw) {
  const quantity = h("input", { id: `quantity-${line.product_id}`, type: "number", min: "1", max: "1000", value: String(line.quantity), inputmode: "numeric", class: "quantity" });
  const update = async (count) => {
    try {
      await (count > 0 ? cart.setQuantity(line.product_id, count) : cart.remove(line.product_id));
      await redraw();
    } catch (error) {
      tell(error.describe());
    }
  };
  quantity.addEventListener("change", () => {
    const count = Number.parseInt(quantity.value, 10);
    if (count >= 0 && count <= 1000) update(count);
    else tell("Choose a quantity from 1 to 1000, or remove the line.");
  });
  return h(
    "li",
    { class: "line", dataset: { productId: line.product_id } },
    picture(line, "picture-small"),
    h("div", { class: "line-info" }, h("a", { href: `/products/${line.product_id}`, "data-link": true, class: "line-name" }, line.name), h("span", { class: "muted" }, `${price(line.unit_price, currency)} each`)),
    h("div", { class: "line-quantity" }, h("label", { for: quantity.id, class: "visually-hidden" }, `Quantity of ${line.name}`), quantity),
    h("span", { class: "line-total price" }, line.line_total === null ? "—" : price(line.line_total, currency)),
    h("button", { type: "button", class: "button button-ghost button-small", onclick: () => update(0), "aria-label": `Remove ${line.name}` }, "Remove"),
  );
}

export async function cartView(url, navigate) {
  const redraw = () => cartView(url, navigate);
  const current = await cart.load();
  const byProduct = new Map(current.items.map((line) => [line.product_id, line]));
  if (!current.items.length) {
    show("Cart", h("h1", {}, "Your cart"), h("div", { class: "panel empty" }, h("p", {}, "Your cart is empty."), h("a", { href: "/", "data-link": true, class: "button button-primary" }, "Browse products")));
    return;
  }
  const blocked = current.warnings.some((warning) => warning.code === "unavailable");
  const checkout = isSignedIn()
    ? h("a", { href: "/checkout", "data-link": true, class: `button button-primary button-wide${blocked ? " is-disabled" : ""}`, id: "go-to-checkout", "aria-disabled": blocked ? "true" : null }, "Check out")
    : h("a", { href: "/signin?next=/checkout", "data-link": true, class: "button button-primary button-wide", id: "go-to-checkout" }, "Sign in to check out");
  show(
    "Cart",
    h("h1", {}, "Your cart"),
    current.warnings.length
      ? h("ul", { class: "warnings", id: "cart-warnings", "aria-label": "Warnings" }, current.warnings.map((warning) => h("li", {}, warningText(warning, byProduct.get(warning.product_id), current.currency))))
      : null,
    h(
      "div",
      { class: "cart-layout" },
      h("ul", { class: "lines", id: "cart-lines" }, current.items.map((line) => lineRow(line, current.currency, redraw))),
      h(
        "aside",
        { class: "panel summary" },
        h("h2", {}, "Summary"),
        h("p", { class: "summary-total" }, h("span", {}, "Total"), h("strong", { id: "cart-total" }, price(current.total, current.currency))),
        current.guest ? h("p", { class: "muted" }, "Your cart is kept in this browser until you sign in.") : null,
        checkout,
      ),
    ),
  );
}

/**
 * The Idempotency-Key of a checkout attempt: one per checkout form, kept while the shopper sends the same
 * request again (a double click, even one that lands after the order was placed; a timeout; a 503), so
 * the shop places one order. A changed form is a new attempt with a new key; a new visit, a new form.
 */
function attemptKeys() {
  let attempt = null;
  return (body) => {
    const text = JSON.stringify(body);
    if (!attempt || attempt.body !== text) attempt = { body: text, key: crypto.randomUUID() };
    return attempt.key;
  };
}

export async function checkoutView(url, navigate) {
  const current = await cart.load();
  if (!current.items.length) {
    navigate("/cart");
    return;
  }
  const methods = h(
    "fieldset",
    { class: "methods" },
    h("legend", {}, "Payment (test cards: nothing is charged)"),
    TEST_METHODS.map(([value, label], index) =>
      h("label", { class: "method" }, h("input", { type: "radio", name: "payment_method", value, checked: index === 0, required: true }), h("span", {}, label), h("code", {}, value)),
    ),
  );
  const form = h(
    "form",
    { class: "panel form", id: "checkout-form" },
    h("h2", {}, "Shipping address"),
    field("Full name", { name: "name", autocomplete: "name", required: true, maxlength: "200" }),
    field("Street and number", { name: "line1", autocomplete: "address-line1", required: true, maxlength: "200" }),
    h("div", { class: "row" }, field("Postal code", { name: "postal_code", autocomplete: "postal-code", required: true, maxlength: "20" }), field("City", { name: "city", autocomplete: "address-level2", required: true, maxlength: "100" })),
    field("Country", { name: "country", autocomplete: "country-name", required: true, maxlength: "100" }),
    methods,
    h("button", { type: "submit", class: "button button-primary button-wide", id: "place-order" }, `Place order · ${price(current.total, current.currency)}`),
  );
  const attemptKey = attemptKeys();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.getAttribute("aria-busy")) return;
    const data = Object.fromEntries(new FormData(form));
    const shippingAddress = { name: data.name, line1: data.line1, postal_code: data.postal_code, city: data.city, country: data.country };
    const body = { paymentMethod: data.payment_method, shippingAddress };
    const idempotencyKey = attemptKey(body);
    busy(form, async () => {
      try {
        const order = await cart.checkout({ ...body, idempotencyKey });
        navigate(`/orders/${order.id}`);
      } catch (error) {
        tell(error.describe());
      }
    });
  });
  show(
    "Checkout",
    h("h1", {}, "Checkout"),
    h(
      "div",
      { class: "cart-layout" },
      form,
      h(
        "aside",
        { class: "panel summary" },
        h("h2", {}, "Your order"),
        h("ul", { class: "summary-lines" }, current.items.map((line) => h("li", {}, h("span", {}, `${line.quantity} × ${line.name}`), h("span", {}, price(line.line_total, current.currency))))),
        h("p", { class: "summary-total" }, h("span", {}, "Total"), h("strong", {}, price(current.total, current.currency))),
      ),
    ),
  );
}
