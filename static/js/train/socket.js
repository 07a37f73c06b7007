// The WebSocket /api/v1/train of this server (root-path aware), reopened on the next message
// after it closed; messages sent while it opens wait for it.
const ROOT = document.querySelector("[data-root]")?.dataset.root ?? "/";
export const rootPath = ROOT;

export function createSocket({ onMessage, onClose }) {
  let ws = null;
  let queue = [];
  const url = () => {
    const u = new URL(`${ROOT}api/v1/train`, window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.toString();
  };
  function open() {
    const sock = new WebSocket(url());
    ws = sock;
    sock.addEventListener("open", () => {
      for (const m of queue) sock.send(JSON.stringify(m));
      queue = [];
    });
    sock.addEventListener("message", (ev) => onMessage(JSON.parse(ev.data)));
    sock.addEventListener("close", () => {
      if (ws === sock) { ws = null; queue = []; onClose(); }
    });
  }
  return {
    send(message) {
      if (!ws) open();
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
      else queue.push(message);
    },
    get open() {
      return ws !== null;
    },
  };
}
