// workprint service worker: forwards page events to the local recorder through Chrome native
// messaging (the host "org.workprint.bridge", installed by `workprint extension install`), adds
// navigation and tab events, and never blocks a page. There is no network port: only the host
// this person installed can receive events. The recorder's hello carries the URL policy, and
// events on pages it does not allow are dropped here, before anything is sent. When the recorder
// is not running it keeps a bounded buffer and says so in the popup.
const HOST = "org.workprint.bridge";
const MAX_BUFFER = 500;
let buffer = [];
let state = {connected: false, dropped: 0, sent: 0, lastError: ""};
let port = null;
let policy = null;     // {allow: [globs] | null, deny: [globs]} from the recorder's hello
let waiting = null;    // resolves with the host's answer to the message in flight

function globToRegExp(glob) {
  // The recorder's fnmatch globs: * any run, ? one character, [...] a set ([!...] negated).
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[" && glob.indexOf("]", i + 2) > 0) {
      const end = glob.indexOf("]", i + 2);
      let set = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (set[0] === "!") set = "^" + set.slice(1);
      out += `[${set}]`; i = end;
    } else out += c.replace(/[.+^${}()|[\]\\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

function compile(p) {
  return {allow: p.allow ? p.allow.map(globToRegExp) : null, deny: (p.deny || []).map(globToRegExp)};
}

function urlAllowed(url) {
  if (!url) return true;
  const u = String(url).toLowerCase();
  if (policy.deny.some((re) => re.test(u))) return false;
  return policy.allow === null || policy.allow.some((re) => re.test(u));
}

// What may leave the browser: an event on a page the policy does not allow is dropped; a
// navigation to such a page is reported without its address, so the recorder knows the browser
// shows a page it must not record.
function permitted(event) {
  if (urlAllowed(event.url)) return event;
  if ((event.type === "navigate" || event.type === "tab") && (event.frame || "top") === "top") {
    return {type: event.type, denied: true, frame: "top", ts: event.ts, tab: event.tab};
  }
  return null;
}

function connect() {
  port = chrome.runtime.connectNative(HOST);
  port.onMessage.addListener((reply) => { const w = waiting; waiting = null; if (w) w(reply); });
  port.onDisconnect.addListener(() => {
    state.lastError = (chrome.runtime.lastError && chrome.runtime.lastError.message) || "the native host exited";
    port = null; policy = null;
    const w = waiting; waiting = null; if (w) w({error: state.lastError});
  });
}

function ask(message) {
  if (!port) connect();
  return new Promise((resolve) => {
    waiting = resolve;
    try { port.postMessage(message); } catch (err) { waiting = null; resolve({error: String(err)}); }
    setTimeout(() => { if (waiting === resolve) { waiting = null; resolve({error: "no answer from the native host"}); } }, 10000);
  });
}

function queue(event, tab) {
  if (tab && tab.incognito) return;  // never from incognito windows
  event.tab = tab ? tab.id : null;
  buffer.push(event);
  if (buffer.length > MAX_BUFFER) { state.dropped += buffer.length - MAX_BUFFER; buffer = buffer.slice(-MAX_BUFFER); }
  flush();
}

let flushing = false;
async function flush() {
  if (flushing || !buffer.length) return;
  flushing = true;
  try {
    if (!policy) {
      const hello = await ask({op: "hello"});
      if (hello.error || !hello.policy) throw new Error(hello.error || "unexpected hello");
      policy = compile(hello.policy);
    }
    const batch = buffer.slice(0, 100);
    const events = batch.map(permitted).filter(Boolean);
    if (events.length) {
      const reply = await ask({op: "events", events});
      if (reply.error) { policy = null; throw new Error(reply.error); }
    }
    buffer = buffer.slice(batch.length);
    state.connected = true; state.sent += events.length; state.lastError = "";
  } catch (err) {
    state.connected = false; state.lastError = String(err);
  } finally {
    flushing = false;
    chrome.storage.session.set({workprint: {...state, buffered: buffer.length}});
    if (buffer.length && state.connected) flush();
  }
}
setInterval(flush, 2000);

chrome.runtime.onMessage.addListener((message, sender) => {
  if (message && message.workprint) queue(message.workprint, sender.tab);
  if (message && message.status) return Promise.resolve({...state, buffered: buffer.length});
});

function navigate(details, kind) {
  if (details.frameId !== 0) return;
  chrome.tabs.get(details.tabId).then((tab) => queue({type: "navigate", how: kind, url: details.url, frame: "top", ts: Date.now()}, tab)).catch(() => {});
}
chrome.webNavigation.onCommitted.addListener((d) => navigate(d, "load"));
chrome.webNavigation.onHistoryStateUpdated.addListener((d) => navigate(d, "history"));
chrome.webNavigation.onReferenceFragmentUpdated.addListener((d) => navigate(d, "fragment"));
chrome.tabs.onActivated.addListener(({tabId}) => {
  chrome.tabs.get(tabId).then((tab) => queue({type: "tab", url: tab.url || "", frame: "top", ts: Date.now()}, tab)).catch(() => {});
});
