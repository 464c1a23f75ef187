// Browsing: the product list (categories, search, price range, sorting, pages) and a product's page.

import { request, withQuery } from "./api.js";
import * as cart from "./cart.js";
import { busy, field, h, price, show, tell } from "./dom.js";

const PAGE_SIZE = 12;
const LOW_STOCK = 5;
const SORTS = [
  ["name", "Name"],
  ["price", "Price: low to high"],
  ["-price", "Price: high to low"],
  ["-created_at", "Newest"],
];

let categories = null;

async function categoryList() {
  if (!categories) {
    const answer = await request(withQuery("/api/v1/categories", { page_size: 100 }));
    categories = answer.results || answer;
  }
  return categories;
}

/** "Only 3 left", "Out of stock" or "In stock", from the catalog's live `available`. */
export function availability(available) {
  if (available <= 0) return h("span", { class: "stock stock-out" }, "Out of stock");
  if (available <= LOW_STOCK) return h("span", { class: "stock stock-low" }, `Only ${available} left`);
  return h("span", { class: "stock stock-in" }, "In stock");
}

/** A coloured tile standing in for a product photo (the catalog has none): hue from the sku. */
export function picture(product, size = "") {
  let hue = 0;
  for (const character of product.sku || product.name || "") hue = (hue * 31 + character.charCodeAt(0)) % 360;
  const tile = h("div", { class: `picture ${size}`, "aria-hidden": "true" }, (product.name || "?").slice(0, 1));
  tile.style.setProperty("--hue", hue);
  return tile;
}

async function addToCart(product, quantity, button) {
  button.disabled = true;
  try {
    await cart.add(product, quantity);
    tell(`${product.name} is in your cart.`, "success");
  } catch (error) {
    tell(error.describe ? error.describe() : String(error));
  } finally {
    button.disabled = false;
  }
}

function productCard(product) {
  const button = h("button", { type: "button", class: "button button-small", disabled: product.available <= 0 }, "Add to cart");
  button.addEventListener("click", () => addToCart(product, 1, button));
  return h(
    "li",
    { class: "card", dataset: { productId: product.id } },
    h("a", { href: `/products/${product.id}`, "data-link": true, class: "card-link" }, picture(product), h("h3", { class: "card-title" }, product.name)),
    h("p", { class: "card-meta" }, h("span", { class: "price" }, price(product.price, product.currency)), availability(product.available)),
    button,
  );
}

/** The catalog, filtered by the page's query (?q=&category=&min=&max=&sort=&page=). */
export async function catalogView(url, navigate) {
  const query = url.searchParams;
  const page = Number.parseInt(query.get("page") || "1", 10) || 1;
  const [found, allCategories] = await Promise.all([
    request(
      withQuery("/api/v1/products", {
        search: query.get("q"),
        category: query.get("category"),
        min_price: query.get("min"),
        max_price: query.get("max"),
        ordering: query.get("sort") || "name",
        page,
        page_size: PAGE_SIZE,
      }),
    ),
    categoryList(),
  ]);
  document.getElementById("search-input").value = query.get("q") || "";

  const filters = h(
    "form",
    { class: "filters", "aria-label": "Filter products" },
    field(
      "Category",
      h("select", { id: "filter-category", name: "category" }, h("option", { value: "" }, "All categories"), allCategories.map((category) => h("option", { value: category.slug, selected: category.slug === query.get("category") }, category.name))),
    ),
    field("Min price", { name: "min", type: "number", min: "0", step: "0.01", inputmode: "decimal", value: query.get("min") || "" }),
    field("Max price", { name: "max", type: "number", min: "0", step: "0.01", inputmode: "decimal", value: query.get("max") || "" }),
    field("Sort by", h("select", { id: "filter-sort", name: "sort" }, SORTS.map(([value, label]) => h("option", { value, selected: value === (query.get("sort") || "name") }, label)))),
    h("button", { type: "submit", class: "button" }, "Apply"),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (query.get("q")) next.set("q", query.get("q"));
    for (const [name, value] of new FormData(filters)) if (value) next.set(name, value);
    navigate(`/?${next}`);
  });
  for (const select of filters.querySelectorAll("select")) select.addEventListener("change", () => filters.requestSubmit());

  const pages = Math.max(1, Math.ceil(found.count / PAGE_SIZE));
  const pageLink = (number, label, rel) => {
    const next = new URLSearchParams(query);
    next.set("page", String(number));
    return h("a", { href: `/?${next}`, "data-link": true, class: "button button-ghost", rel }, label);
  };
  const heading = query.get("q") ? `Results for “${query.get("q")}”` : "All products";
  show(
    query.get("q") ? `Search: ${query.get("q")}` : "",
    h("section", { class: "hero" }, h("h1", {}, heading), h("p", { class: "muted", id: "result-count" }, `${found.count} product${found.count === 1 ? "" : "s"}`)),
    filters,
    found.results.length
      ? h("ul", { class: "grid", id: "product-grid" }, found.results.map(productCard))
      : h("p", { class: "empty" }, "No product matches. Try another search or widen the price range."),
    pages > 1
      ? h("nav", { class: "pagination", "aria-label": "Pages" }, page > 1 ? pageLink(page - 1, "← Previous", "prev") : null, h("span", { "aria-current": "page" }, `Page ${page} of ${pages}`), page < pages ? pageLink(page + 1, "Next →", "next") : null)
      : null,
  );
}

/** A product's page; its availability is read again every 15 s while the page is open. */
export async function productView(url, navigate, id, isCurrent) {
  const product = await request(`/api/v1/products/${encodeURIComponent(id)}`);
  const stock = h("p", { class: "product-stock", id: "product-stock", "aria-live": "polite" }, availability(product.available));
  const quantity = h("input", { id: "quantity", name: "quantity", type: "number", min: "1", max: "1000", value: "1", inputmode: "numeric", required: true });
  const form = h(
    "form",
    { class: "buy" },
    field("Quantity", quantity),
    h("button", { type: "submit", class: "button button-primary", id: "add-to-cart", disabled: product.available <= 0 }, "Add to cart"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const count = Number.parseInt(quantity.value, 10);
    if (!(count >= 1 && count <= 1000)) {
      tell("Choose a quantity from 1 to 1000.");
      return;
    }
    busy(form, () => addToCart(product, count, form.querySelector("button")));
  });
  show(
    product.name,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/", "data-link": true }, "All products"), product.category ? [" / ", h("a", { href: `/?category=${encodeURIComponent(product.category)}`, "data-link": true }, product.category)] : null),
    h(
      "article",
      { class: "product" },
      picture(product, "picture-large"),
      h(
        "div",
        { class: "product-info" },
        h("h1", {}, product.name),
        h("p", { class: "product-price price" }, price(product.price, product.currency)),
        stock,
        h("p", { class: "product-description" }, product.description || ""),
        h("p", { class: "muted" }, `SKU ${product.sku}`),
        form,
      ),
    ),
  );
  const refreshStock = async () => {
    if (!isCurrent()) return;
    try {
      const fresh = await request(`/api/v1/products/${encodeURIComponent(id)}`);
      if (!isCurrent()) return;
      stock.replaceChildren(availability(fresh.available));
      form.querySelector("#add-to-cart").disabled = fresh.available <= 0;
    } catch {
      // A missed refresh leaves the last known availability on the page; the next one may succeed.
    }
    setTimeout(refreshStock, 15000);
  };
  setTimeout(refreshStock, 15000);
}
