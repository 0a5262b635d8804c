// workprint content script: what was clicked, chosen and typed, read in the page and sent to
// the extension's service worker. Values of secure fields are never read: not of
// input[type=password], not of fields whose autocomplete is current-password, new-password,
// one-time-code or cc-*, not of anything inside [data-workprint-block].
(() => {
  if (window.__workprint) return;
  window.__workprint = true;

  const SECURE_AUTOCOMPLETE = /^(current-password|new-password|one-time-code|cc-[a-z-]+)$/i;
  const CHOICE_ROLES = new Set(["option", "menuitem", "menuitemradio", "menuitemcheckbox", "tab", "treeitem"]);
  const TEXT_TYPES = new Set(["text", "email", "search", "tel", "url", "number", ""]);
  const INTERACTIVE = "button,a[href],input,select,textarea,option,summary,label,[role],[contenteditable=''],[contenteditable=true],[onclick],[tabindex]";

  function isSecure(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.closest("[data-workprint-block]")) return true;
    if (el.tagName === "INPUT" && (el.getAttribute("type") || "").toLowerCase() === "password") return true;
    const ac = (el.getAttribute("autocomplete") || "").trim();
    return ac.split(/\s+/).some((token) => SECURE_AUTOCOMPLETE.test(token));
  }

  function implicitRole(el) {
    const tag = el.tagName.toLowerCase();
    if (tag === "button" || tag === "summary") return "button";
    if (tag === "a") return el.hasAttribute("href") ? "link" : "generic";
    if (tag === "select") return el.multiple || el.size > 1 ? "listbox" : "combobox";
    if (tag === "option") return "option";
    if (tag === "textarea") return "textbox";
    if (tag === "input") {
      const type = (el.getAttribute("type") || "text").toLowerCase();
      return {checkbox: "checkbox", radio: "radio", button: "button", submit: "button", reset: "button",
              range: "slider", search: "searchbox"}[type] || "textbox";
    }
    if (/^h[1-6]$/.test(tag)) return "heading";
    return {li: "listitem", img: "img", nav: "navigation", form: "form", table: "table"}[tag] || tag;
  }

  const role = (el) => el.getAttribute("role") || implicitRole(el);

  function text(value, max = 80) {
    return (value || "").replace(/\s+/g, " ").trim().slice(0, max);
  }

  function accessibleName(el) {
    const aria = el.getAttribute("aria-label");
    if (aria) return text(aria);
    const labelledby = el.getAttribute("aria-labelledby");
    if (labelledby) {
      const parts = labelledby.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean);
      if (parts.length) return text(parts.map((p) => p.textContent).join(" "));
    }
    if (el.id) {
      const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (label) return text(label.textContent);
    }
    const wrapping = el.closest("label");
    if (wrapping && wrapping !== el) return text(wrapping.textContent);
    for (const attr of ["placeholder", "alt", "title", "name"]) {
      if (el.getAttribute(attr)) return text(el.getAttribute(attr));
    }
    if (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return "";
    return text(el.innerText || el.textContent);
  }

  function selector(el) {
    if (el.id && document.querySelectorAll(`#${CSS.escape(el.id)}`).length === 1) return `#${CSS.escape(el.id)}`;
    for (const attr of ["data-testid", "data-test", "name", "aria-label"]) {
      const v = el.getAttribute(attr);
      if (v) return `${el.tagName.toLowerCase()}[${attr}="${CSS.escape(v)}"]`;
    }
    const parts = [];
    for (let node = el; node && node.nodeType === 1 && parts.length < 4; node = node.parentElement) {
      let part = node.tagName.toLowerCase();
      const siblings = node.parentElement ? [...node.parentElement.children].filter((s) => s.tagName === node.tagName) : [];
      if (siblings.length > 1) part += `:nth-of-type(${siblings.indexOf(node) + 1})`;
      parts.unshift(part);
      if (node.id) { parts[0] = `#${CSS.escape(node.id)}`; break; }
    }
    return parts.join(" > ");
  }

  // CSS pixels in the top window -> screen pixels. A real pointer event gives the exact origin of
  // the page on screen (screenX - clientX); until one arrives, estimate it from the window's
  // position and the browser's toolbars. Times devicePixelRatio. Sub-frames report CSS boxes only.
  let origin = null;
  function learnOrigin(e) {
    if (e.isTrusted && (e.screenX || e.screenY)) origin = [e.screenX - e.clientX, e.screenY - e.clientY];
  }
  addEventListener("mousemove", learnOrigin, {capture: true, passive: true});
  addEventListener("mousedown", learnOrigin, {capture: true, passive: true});
  function toScreen(x, y) {
    if (window !== window.top) return null;
    let ox, oy;
    if (origin) {
      [ox, oy] = origin;
    } else {
      const border = Math.max(0, (window.outerWidth - window.innerWidth) / 2);
      ox = window.screenX + border;
      oy = window.screenY + Math.max(0, window.outerHeight - window.innerHeight - border);
    }
    const dpr = window.devicePixelRatio || 1;
    return [Math.round((ox + x) * dpr), Math.round((oy + y) * dpr)];
  }

  function describe(el) {
    const rect = el.getBoundingClientRect();
    const origin = toScreen(rect.left, rect.top);
    const dpr = window.devicePixelRatio || 1;
    return {
      role: role(el), name: isSecure(el) ? accessibleName(el).slice(0, 40) : accessibleName(el),
      tag: el.tagName.toLowerCase(), selector: selector(el),
      bbox_css: [Math.round(rect.left), Math.round(rect.top), Math.round(rect.width), Math.round(rect.height)],
      bbox: origin ? [origin[0], origin[1], Math.round(rect.width * dpr), Math.round(rect.height * dpr)] : null,
    };
  }

  function send(event) {
    event.ts = Date.now();
    event.url = location.href;
    event.frame = window === window.top ? "top" : "sub";
    try { chrome.runtime.sendMessage({workprint: event}); } catch (e) { /* extension reloaded */ }
  }

  addEventListener("click", (e) => {
    const el = e.target instanceof Element ? e.target.closest(INTERACTIVE) || e.target : null;
    if (!el) return;
    learnOrigin(e);
    const at = toScreen(e.clientX, e.clientY);
    send({type: "click", target: describe(el), x: at && at[0], y: at && at[1], button: e.button});
    const r = role(el);
    if (CHOICE_ROLES.has(r)) {
      const container = el.closest("[role=listbox],[role=menu],[role=menubar],[role=tablist],[role=tree],[role=combobox],select");
      send({type: "choose", label: accessibleName(el), value: el.getAttribute("data-value") || el.getAttribute("value") || accessibleName(el),
            target: describe(el), widget: container ? describe(container) : null});
    }
  }, true);

  addEventListener("change", (e) => {
    const el = e.target;
    if (el instanceof HTMLSelectElement && !isSecure(el)) {
      const chosen = [...el.selectedOptions];
      send({type: "select", value: chosen.map((o) => o.value).join(", "), label: chosen.map((o) => text(o.textContent)).join(", "),
            target: describe(el)});
    }
  }, true);

  // Keyboard choices in ARIA widgets: Enter on the active option of a listbox/menu.
  addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const el = document.activeElement;
    const activeId = el && el.getAttribute("aria-activedescendant");
    const option = activeId ? document.getElementById(activeId) : (el && CHOICE_ROLES.has(role(el)) ? el : null);
    if (option) send({type: "choose", label: accessibleName(option), value: option.getAttribute("data-value") || accessibleName(option),
                      target: describe(option), widget: describe(el)});
  }, true);

  const visits = new WeakMap();
  const isTextField = (el) => el instanceof HTMLTextAreaElement || el.isContentEditable ||
    (el instanceof HTMLInputElement && TEXT_TYPES.has((el.getAttribute("type") || "").toLowerCase()));

  addEventListener("focusin", (e) => {
    const el = e.target;
    if (!(el instanceof Element)) return;
    if (isSecure(el)) { send({type: "secure", state: "focus", target: describe(el)}); return; }
    if (isTextField(el)) visits.set(el, {start: Date.now(), initial: el.isContentEditable ? el.innerText : el.value});
  }, true);

  addEventListener("focusout", (e) => {
    const el = e.target;
    if (!(el instanceof Element)) return;
    if (isSecure(el)) { send({type: "secure", state: "blur", target: describe(el)}); return; }
    const visit = visits.get(el);
    if (!visit) return;
    visits.delete(el);
    const value = el.isContentEditable ? el.innerText : el.value;
    if (value !== visit.initial) send({type: "input", ts_start: visit.start, text: (value || "").slice(0, 4000), target: describe(el)});
  }, true);

  addEventListener("submit", (e) => send({type: "submit", target: describe(e.target)}), true);

  let scrollDy = 0, scrollTimer = null, scrollTarget = null;
  addEventListener("scroll", (e) => {
    const el = e.target === document ? document.scrollingElement : e.target;
    const last = el.__workprintTop ?? el.scrollTop;
    scrollDy += el.scrollTop - last;
    el.__workprintTop = el.scrollTop;
    scrollTarget = el;
    if (!scrollTimer) scrollTimer = setTimeout(() => {
      if (scrollDy) send({type: "scroll", dy_px: Math.round(scrollDy), target: scrollTarget instanceof Element ? describe(scrollTarget) : null});
      scrollDy = 0; scrollTimer = null;
    }, 300);
  }, true);
})();
