// The storefront's entry: the router (history API), the header (account links, cart count) and the one
// place a page's failure is turned into words.

import { accountLinks } from "./header.js";
import { signInView, registerView } from "./account.js";
import * as cart from "./cart.js";
import { catalogView, productView } from "./catalog.js";
import { cartView, checkoutView } from "./checkout.js";
import { clearNotice, h, show, tell } from "./dom.js";
import { orderView, ordersView } from "./orders.js";
import * as session from "./session.js";

const ID = "([0-9a-fA-F-]{36})";
// [pattern, view, needs a signed-in shopper]
const ROUTES = [
  [/^\/$/, catalogView, false],
  [new RegExp(`^/products/${ID}$`), productView, false],
  [/^\/cart$/, cartView, false],
  [/^\/checkout$/, checkoutView, true],
  [/^\/orders$/, ordersView, true],
  [new RegExp(`^/orders/${ID}$`), orderView, true],
  [/^\/signin$/, signInView, false],
  [/^\/register$/, registerView, false],
];

let navigation = 0;

export function navigate(target, { replace = false, keepNotice = false } = {}) {
  const url = new URL(target, window.location.origin);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return render({ keepNotice });
}

function notFound() {
  show("Not found", h("div", { class: "panel empty" }, h("h1", {}, "Page not found"), h("p", {}, "Nothing lives at this address."), h("a", { href: "/", "data-link": true, class: "button button-primary" }, "Go to the shop")));
}

async function render({ keepNotice = false } = {}) {
  const current = ++navigation;
  const isCurrent = () => current === navigation;
  const url = new URL(window.location.href);
  if (!keepNotice) clearNotice();
  const found = ROUTES.map(([pattern, view, private_]) => [pattern.exec(url.pathname), view, private_]).find(([match]) => match);
  if (!found) return notFound();
  const [match, view, needsSession] = found;
  if (needsSession && !session.isSignedIn()) {
    return navigate(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true });
  }
  try {
    await view(url, navigate, ...match.slice(1), isCurrent);
  } catch (error) {
    if (!isCurrent()) return;
    if (error.code === "session-ended") {
      return navigate(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true, keepNotice: true }).then(() => tell(error.describe()));
    }
    if (error.status === 404) return notFound();
    show("Something went wrong", h("div", { class: "panel empty" }, h("h1", {}, "We could not load this page"), h("p", {}, error.describe ? error.describe() : String(error)), h("button", { type: "button", class: "button", onclick: () => render() }, "Try again")));
    if (!error.describe) console.error(error);
  }
}

// Links marked data-link change the page without a reload; others behave as links do.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", () => render());

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = document.getElementById("search-input").value.trim();
  navigate(query ? `/?q=${encodeURIComponent(query)}` : "/");
});

const count = document.getElementById("cart-count");
cart.events.addEventListener("changed", (event) => {
  count.textContent = String(event.detail.count);
  count.hidden = event.detail.count === 0;
});

function drawAccount() {
  document.getElementById("account-links").replaceChildren(accountLinks(session, navigate));
}
session.events.addEventListener("signed-in", drawAccount);
session.events.addEventListener("signed-out", drawAccount);
// A refused refresh (revoked, expired or signed out elsewhere), noticed by any request, even a background one.
session.events.addEventListener("session-ended", () => {
  drawAccount();
  tell("Your session has ended. Please sign in again.");
});
// Another tab signing in or out changes the stored refresh token: follow it.
window.addEventListener("storage", (event) => {
  if (event.key === "shop.refresh-token" || event.key === null) drawAccount();
});

drawAccount();
render();
cart.load().catch(() => {});
