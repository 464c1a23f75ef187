// The cart: in this browser (localStorage) until the shopper signs in, then the shop's (/api/v1/cart).
// On sign-in the browser's lines are merged into the shop's cart (POST /api/v1/cart/merge) and forgotten.
// Both kinds are shown in the shop's cart shape: {items, total, currency, warnings}.

import { ApiError, request } from "./api.js";
import { call, events as sessionEvents, isSignedIn } from "./session.js";

const GUEST_KEY = "shop.guest-cart";
const MAX_QUANTITY = 1000;
const MAX_LINES = 50;
export const events = new EventTarget();

function guestLines() {
  try {
    const lines = JSON.parse(localStorage.getItem(GUEST_KEY) || "[]");
    return Array.isArray(lines) ? lines.filter((line) => line && line.product_id && line.quantity > 0) : [];
  } catch {
    return [];
  }
}

function keepGuestLines(lines) {
  if (lines.length) localStorage.setItem(GUEST_KEY, JSON.stringify(lines));
  else localStorage.removeItem(GUEST_KEY);
  changed(lines.reduce((sum, line) => sum + line.quantity, 0));
}

function changed(count) {
  events.dispatchEvent(new CustomEvent("changed", { detail: { count } }));
}

function countOf(cart) {
  return cart.items.reduce((sum, line) => sum + line.quantity, 0);
}

/** The cart, priced now. A guest's lines are priced from the catalog, with the shop's warning codes. */
export async function load() {
  if (isSignedIn()) {
    const cart = await call("/api/v1/cart");
    changed(countOf(cart));
    return cart;
  }
  const lines = guestLines();
  const products = await Promise.all(
    lines.map((line) =>
      request(`/api/v1/products/${encodeURIComponent(line.product_id)}`).catch((error) => {
        if (error.status === 404) return null;
        throw error;
      }),
    ),
  );
  const items = [];
  const warnings = [];
  let totalCents = 0;
  let currency = null;
  lines.forEach((line, index) => {
    const product = products[index];
    if (!product) {
      warnings.push({ code: "unavailable", product_id: line.product_id });
      items.push({ ...line, unit_price: line.price, line_total: null, available: 0 });
      return;
    }
    if (product.price !== line.price) {
      warnings.push({ code: "price_changed", product_id: line.product_id, old_price: line.price, new_price: product.price });
    }
    if (product.available < line.quantity) {
      warnings.push({ code: "insufficient_stock", product_id: line.product_id, available: product.available });
    }
    // Cents, so no binary fraction creeps into the sum; the shop's own cart is priced by the shop.
    const lineCents = Math.round(Number(product.price) * 100) * line.quantity;
    totalCents += lineCents;
    const lineTotal = (lineCents / 100).toFixed(2);
    currency = product.currency;
    items.push({
      product_id: product.id,
      sku: product.sku,
      name: product.name,
      unit_price: product.price,
      quantity: line.quantity,
      line_total: lineTotal,
      available: product.available,
    });
  });
  changed(countOf({ items }));
  return { items, total: (totalCents / 100).toFixed(2), currency, warnings, guest: true };
}

/** Adds `quantity` of `product` (a catalog product) to the cart. */
export async function add(product, quantity = 1) {
  if (isSignedIn()) {
    const cart = await call("/api/v1/cart");
    const present = cart.items.find((line) => line.product_id === product.id);
    return setQuantity(product.id, Math.min(MAX_QUANTITY, (present ? present.quantity : 0) + quantity));
  }
  const lines = guestLines();
  const present = lines.find((line) => line.product_id === product.id);
  if (present) present.quantity = Math.min(MAX_QUANTITY, present.quantity + quantity);
  else if (lines.length >= MAX_LINES) {
    throw new ApiError(409, { detail: `A cart holds at most ${MAX_LINES} products.`, code: "cart-full" });
  } else {
    lines.push({ product_id: product.id, quantity, name: product.name, sku: product.sku, price: product.price, currency: product.currency });
  }
  keepGuestLines(lines);
  return null;
}

/** Sets a line's quantity (0 removes it). */
export async function setQuantity(productId, quantity) {
  if (isSignedIn()) {
    const cart = await call(`/api/v1/cart/items/${encodeURIComponent(productId)}`, { method: "PUT", body: { quantity } });
    changed(countOf(cart));
    return cart;
  }
  const lines = guestLines()
    .map((line) => (line.product_id === productId ? { ...line, quantity } : line))
    .filter((line) => line.quantity > 0);
  keepGuestLines(lines);
  return null;
}

export async function remove(productId) {
  if (isSignedIn()) {
    const cart = await call(`/api/v1/cart/items/${encodeURIComponent(productId)}`, { method: "DELETE" });
    changed(countOf(cart));
    return cart;
  }
  return setQuantity(productId, 0);
}

/** Adds the browser's cart to the shop's, after sign-in; kept in the browser if the shop refuses it. */
export async function mergeGuestCart() {
  const lines = guestLines();
  if (!lines.length) return load();
  const items = lines.map((line) => ({ product_id: line.product_id, quantity: line.quantity }));
  const cart = await call("/api/v1/cart/merge", { method: "POST", body: { items } });
  keepGuestLines([]);
  changed(countOf(cart));
  return cart;
}

/** Checks the shop's cart out: one Idempotency-Key per attempt, so a double click or a retry places one order. */
export async function checkout({ paymentMethod, shippingAddress, idempotencyKey }) {
  const order = await call("/api/v1/cart/checkout", {
    method: "POST",
    body: { payment_method: paymentMethod, shipping_address: shippingAddress },
    idempotencyKey,
  });
  changed(0);
  return order;
}

sessionEvents.addEventListener("signed-out", () => changed(guestLines().reduce((sum, line) => sum + line.quantity, 0)));
