// Building the page: elements from data, never HTML from strings, so nothing the API returns can run as code.

/** h("a", {href: "/", class: "x", onclick: fn}, "text", child) -> an element. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the main area's content and moves focus there, as a page change would for a screen reader. */
export function show(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  document.title = title ? `${title} · Shop` : "Shop";
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

const notice = () => document.getElementById("notice");

/** The one place messages appear: an error's problem+json detail, or a confirmation. */
export function tell(message, kind = "error") {
  const box = notice();
  box.textContent = message;
  box.className = `notice notice-${kind}`;
  box.hidden = false;
}

export function clearNotice() {
  notice().hidden = true;
  notice().textContent = "";
}

const money = new Map();

/** "19.99" + "EUR" -> "€19.99"; the API's decimal strings are shown, never computed on. */
export function price(amount, currency) {
  if (amount === null || amount === undefined) return "";
  const code = currency || "EUR";
  if (!money.has(code)) {
    try {
      money.set(code, new Intl.NumberFormat(undefined, { style: "currency", currency: code }));
    } catch {
      money.set(code, { format: (value) => `${value} ${code}` });
    }
  }
  return money.get(code).format(Number(amount));
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
}

/** A labelled form field: `control` is an element, or the attributes of an <input> (its id from its name). */
export function field(label, control, hint = null) {
  const element = control instanceof Node ? control : h("input", { id: `field-${control.name}`, ...control });
  const hintElement = hint ? h("p", { class: "hint", id: `${element.id}-hint` }, hint) : null;
  if (hintElement) element.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: element.id }, label), element, hintElement);
}

/** Disables a form's controls while `work` runs, so a double click sends one request. */
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select, textarea")];
  const before = controls.map((control) => control.disabled);
  controls.forEach((control) => (control.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((control, index) => (control.disabled = before[index]));
    form.removeAttribute("aria-busy");
  }
}
