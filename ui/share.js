// The "copy link" control (Streamlit components v2, no build step, no dependencies).
//
// The page keeps its deep link in the address bar (ui/state.py, mirror), so the link is read
// when the button is pressed, never sent by the server: it is always the one on screen.
// navigator.clipboard exists only in a secure context (https, or localhost); on plain http, as on
// a classroom network, or when the browser refuses, the link is shown selected in a text field
// instead, to copy by hand.

const mounted = new WeakMap(); // parentElement -> view: the function runs again on every data change

function build(parent) {
  const root = document.createElement("div");
  root.className = "bnl-share";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "bnl-copy";
  const status = document.createElement("span");
  status.className = "bnl-copy-status";
  status.setAttribute("role", "status");
  const fallback = document.createElement("label");
  fallback.className = "bnl-copy-fallback";
  fallback.hidden = true;
  const note = document.createElement("span");
  const field = document.createElement("input");
  field.type = "text";
  field.readOnly = true;
  field.className = "bnl-copy-link";
  fallback.append(note, field);
  root.append(button, status, fallback);
  parent.append(root);
  const view = { root, button, status, fallback, note, field, text: {}, timer: 0 };
  button.addEventListener("click", () => copy(view));
  field.addEventListener("focus", () => field.select());
  return view;
}

function showFallback(view, link) {
  view.status.textContent = "";
  view.note.textContent = view.text.fallback;
  view.field.value = link;
  view.fallback.hidden = false;
  view.field.focus();
  view.field.select();
}

async function copy(view) {
  const link = window.location.href;
  if (!navigator.clipboard || !window.isSecureContext) {
    showFallback(view, link);
    return;
  }
  try {
    await navigator.clipboard.writeText(link);
  } catch {
    showFallback(view, link); // permission refused, or the document lost focus
    return;
  }
  view.fallback.hidden = true;
  view.status.textContent = view.text.copied;
  clearTimeout(view.timer);
  view.timer = setTimeout(() => (view.status.textContent = ""), 2500);
}

export default function ({ parentElement, data }) {
  let view = mounted.get(parentElement);
  if (!view) {
    view = build(parentElement);
    mounted.set(parentElement, view);
  }
  view.text = data || {};
  view.button.textContent = view.text.copy || "Copy link";
  view.button.title = view.text.help || "";
  if (!view.fallback.hidden) view.note.textContent = view.text.fallback;
  return () => {
    clearTimeout(view.timer);
    view.root.remove();
    mounted.delete(parentElement);
  };
}
