// This browser tab's session id: 32 random hex digits kept in the tab's sessionStorage, so a
// reload of the tab finds the same id (a tab duplicated from it gets a copy; a closed tab's id is
// gone with it). The server keeps a tab's finished runs under it (lessons/train/kept.py).
// Sent once: the page passes back the id it already knows as `data`.
const KEY = "bn_lab.browser_session";
const ID = /^[0-9a-f]{32}$/;

function tabId() {
  try {
    let id = window.sessionStorage.getItem(KEY);
    if (!ID.test(id || "")) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      window.sessionStorage.setItem(KEY, id);
    }
    return id;
  } catch (error) {
    return ""; // storage switched off: nothing outlives a reload, and the page says nothing more
  }
}

export default function (component) {
  const { data, setStateValue } = component;
  const id = tabId();
  if (id && data !== id) setStateValue("id", id);
}
