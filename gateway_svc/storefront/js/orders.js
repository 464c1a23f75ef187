// My orders: the list, and an order's page whose status follows the saga by itself (polling with backoff).

import { withQuery } from "./api.js";
import { TEST_METHODS } from "./checkout.js";
import { h, price, show, tell, when } from "./dom.js";
import { call } from "./session.js";

const CANCELLABLE = new Set(["pending", "confirmed"]);
const METHOD_NAMES = new Map(TEST_METHODS);

// "Test Visa card (approved)" for a sandbox token the checkout offers; the token itself for any other.
function methodName(token) {
  return METHOD_NAMES.get(token) || `Payment method ${token}`;
}
const STATUS_WORDS = {
  pending: "Pending",
  confirmed: "Confirmed",
  rejected: "Rejected",
  cancelled: "Cancelled",
  shipped: "Shipped",
  delivered: "Delivered",
  refunded: "Refunded",
};
// Seconds between two reads of a pending order: quick at first (it usually settles within a second), then slower.
const POLL_DELAYS = [0.5, 0.5, 1, 1, 2, 3, 5, 8, 13, 20, 30];
const DECLINES = {
  card_declined: "the card was declined",
  insufficient_funds: "the card has insufficient funds",
  expired_card: "the card has expired",
  "provider unavailable": "the payment provider could not be reached",
};

/** The order's rejection reason in words: "payment declined: card_declined" -> "Payment declined: the card was declined." */
export function reasonInWords(reason) {
  if (!reason) return "";
  const declined = /^payment declined: (.+)$/.exec(reason);
  if (declined) return `Payment declined: ${DECLINES[declined[1]] || declined[1].replaceAll("_", " ")}.`;
  if (/stock/i.test(reason) && !/timed out/i.test(reason)) return `Not enough stock: ${reason}.`;
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}${/[.!]$/.test(reason) ? "" : "."}`;
}

function badge(status) {
  return h("span", { class: `status status-${status}`, dataset: { status } }, STATUS_WORDS[status] || status);
}

export async function ordersView(url, navigate) {
  const page = Number.parseInt(url.searchParams.get("page") || "1", 10) || 1;
  const found = await call(withQuery("/api/v1/orders", { page, page_size: 20 }));
  show(
    "My orders",
    h("h1", { id: "orders-page" }, "My orders"),
    found.results.length
      ? h(
          "ul",
          { class: "orders", id: "order-list" },
          found.results.map((order) =>
            h(
              "li",
              { class: "panel order-row", dataset: { orderId: order.id } },
              h("a", { href: `/orders/${order.id}`, "data-link": true, class: "order-link" }, `Order ${order.id.slice(0, 8)}`),
              h("span", { class: "muted" }, when(order.created_at)),
              h("span", {}, `${order.items.length} item${order.items.length === 1 ? "" : "s"}`),
              h("strong", { class: "price" }, price(order.total, order.currency)),
              badge(order.status),
            ),
          ),
        )
      : h("div", { class: "panel empty" }, h("p", {}, "No orders yet."), h("a", { href: "/", "data-link": true, class: "button button-primary" }, "Start shopping")),
    found.next || found.previous
      ? h(
          "nav",
          { class: "pagination", "aria-label": "Pages" },
          found.previous ? h("a", { href: `/orders?page=${page - 1}`, "data-link": true, class: "button button-ghost" }, "← Newer") : null,
          found.next ? h("a", { href: `/orders?page=${page + 1}`, "data-link": true, class: "button button-ghost" }, "Older →") : null,
        )
      : null,
  );
}

function orderBody(order, history, onCancel) {
  const address = order.shipping_address;
  return [
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/orders", "data-link": true }, "My orders"), ` / ${order.id.slice(0, 8)}`),
    h("div", { class: "order-head" }, h("h1", {}, `Order ${order.id.slice(0, 8)}`), h("div", { id: "order-status", "aria-live": "polite" }, badge(order.status))),
    order.status === "pending" ? h("p", { class: "muted", id: "order-waiting" }, "Reserving your items and authorising the payment…") : null,
    order.status === "rejected" ? h("p", { class: "rejection", id: "rejection-reason" }, reasonInWords(order.rejection_reason)) : null,
    h(
      "div",
      { class: "cart-layout" },
      h(
        "section",
        { class: "panel" },
        h("h2", {}, "Items"),
        h("ul", { class: "summary-lines" }, order.items.map((line) => h("li", {}, h("span", {}, `${line.quantity} × ${line.name}`), h("span", {}, price(line.line_total, order.currency))))),
        h("p", { class: "summary-total" }, h("span", {}, "Total"), h("strong", {}, price(order.total, order.currency))),
        h("p", { class: "muted" }, `${methodName(order.payment_method)} · payment ${order.payment_status}`),
        address ? h("p", { class: "muted" }, `Ship to ${[address.name, address.line1, address.postal_code, address.city, address.country].filter(Boolean).join(", ")}`) : null,
        CANCELLABLE.has(order.status) ? h("button", { type: "button", class: "button button-danger", id: "cancel-order", onclick: onCancel }, "Cancel order") : null,
      ),
      h(
        "aside",
        { class: "panel" },
        h("h2", {}, "Status history"),
        h("ol", { class: "history", id: "order-history" }, history.map((entry) => h("li", {}, badge(entry.status), h("time", { datetime: entry.at }, when(entry.at)), entry.reason ? h("span", { class: "muted" }, reasonInWords(entry.reason)) : null))),
      ),
    ),
  ];
}

/** An order's page. While it is pending it is read again with growing delays, and redrawn when it moves on. */
export async function orderView(url, navigate, id, isCurrent) {
  const path = `/api/v1/orders/${encodeURIComponent(id)}`;
  const draw = async () => {
    const [order, history] = await Promise.all([call(path), call(`${path}/history`)]);
    if (!isCurrent()) return null;
    show(`Order ${order.id.slice(0, 8)}`, orderBody(order, history, () => cancel(order)));
    return order;
  };
  const cancel = async (order) => {
    if (!window.confirm("Cancel this order?")) return;
    const button = document.getElementById("cancel-order");
    button.disabled = true;
    try {
      await call(`/api/v1/orders/${encodeURIComponent(order.id)}/cancel`, { method: "POST", body: {} });
      tell("The order is cancelled.", "success");
      await draw();
    } catch (error) {
      button.disabled = false;
      tell(error.describe());
    }
  };
  let order = await draw();
  for (let attempt = 0; order && order.status === "pending"; attempt += 1) {
    const delay = POLL_DELAYS[Math.min(attempt, POLL_DELAYS.length - 1)];
    await new Promise((resolve) => setTimeout(resolve, delay * 1000));
    if (!isCurrent()) return;
    try {
      const fresh = await call(path);
      if (fresh.status !== "pending") order = await draw();
    } catch (error) {
      if (error.status === 401) throw error;
      // A failed read is tried again after the next delay; the page keeps what it showed.
    }
  }
}
