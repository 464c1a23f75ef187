// Signing in and registering. After either, the browser's cart joins the shop's (cart.mergeGuestCart).

import * as cart from "./cart.js";
import { busy, field, h, show, tell } from "./dom.js";
import * as session from "./session.js";

/** Where to go after signing in: a path of this site only (never another origin). */
function nextPath(url) {
  const next = url.searchParams.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

async function afterSignIn(url, navigate, greeting) {
  try {
    const merged = await cart.mergeGuestCart();
    const unavailable = (merged?.warnings || []).filter((warning) => warning.code === "unavailable").length;
    tell(unavailable ? `${greeting} ${unavailable} product(s) from your cart are no longer sold.` : greeting, "success");
  } catch (error) {
    tell(`${greeting} Your cart in this browser could not be added to your account: ${error.describe()}`);
  }
  navigate(nextPath(url));
}

export function signInView(url, navigate) {
  const form = h(
    "form",
    { class: "panel form", id: "sign-in-form", novalidate: true },
    h("h1", {}, "Sign in"),
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "button button-primary button-wide" }, "Sign in"),
    h("p", { class: "muted" }, "New here? ", h("a", { href: `/register${url.search}`, "data-link": true }, "Create an account")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    busy(form, async () => {
      try {
        await session.signIn(data.email.trim(), data.password);
      } catch (error) {
        tell(error.describe());
        return;
      }
      await afterSignIn(url, navigate, "Welcome back.");
    });
  });
  show("Sign in", h("div", { class: "narrow" }, form));
  form.querySelector("input").focus();
}

export function registerView(url, navigate) {
  const form = h(
    "form",
    { class: "panel form", id: "register-form", novalidate: true },
    h("h1", {}, "Create an account"),
    h("div", { class: "row" }, field("First name", { name: "first_name", autocomplete: "given-name" }), field("Last name", { name: "last_name", autocomplete: "family-name" })),
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: "8" }, "At least 8 characters, not only digits, not a common password."),
    h("button", { type: "submit", class: "button button-primary button-wide" }, "Create account"),
    h("p", { class: "muted" }, "Already have an account? ", h("a", { href: `/signin${url.search}`, "data-link": true }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const details = { email: data.email.trim(), password: data.password };
    if (data.first_name.trim()) details.first_name = data.first_name.trim();
    if (data.last_name.trim()) details.last_name = data.last_name.trim();
    busy(form, async () => {
      try {
        await session.register(details);
      } catch (error) {
        tell(error.describe());
        return;
      }
      await afterSignIn(url, navigate, "Your account is ready.");
    });
  });
  show("Create an account", h("div", { class: "narrow" }, form));
  form.querySelector("input").focus();
}
