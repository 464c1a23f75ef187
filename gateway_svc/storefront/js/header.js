// The header's account links: sign in, or the shopper's orders and sign out.

import { h, tell } from "./dom.js";

export function accountLinks(session, navigate) {
  if (!session.isSignedIn()) {
    return h("span", { class: "account-links" }, h("a", { href: "/signin", "data-link": true, id: "sign-in-link" }, "Sign in"), h("a", { href: "/register", "data-link": true, class: "hide-small" }, "Register"));
  }
  const signOut = h("button", { type: "button", class: "link-button", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    await session.signOut();
    await navigate("/");
    tell("You are signed out.", "success");
  });
  return h(
    "span",
    { class: "account-links" },
    h("span", { class: "who hide-small", id: "signed-in-as", title: session.email() || "" }, session.email() || "Signed in"),
    h("a", { href: "/orders", "data-link": true, id: "orders-link" }, "My orders"),
    signOut,
  );
}
