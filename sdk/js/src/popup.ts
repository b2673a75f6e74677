/** The challenge popup (弹窗): an accessible modal dialog, in Chinese, no framework. */

const CSS = `
.proctor-overlay{position:fixed;inset:0;background:rgba(0,0,0,.55);display:flex;align-items:center;justify-content:center;z-index:2147483000;font:16px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif}
.proctor-popup{background:#fff;color:#1a1a1a;border-radius:10px;padding:20px;width:min(420px,92vw);max-height:92vh;overflow:auto;box-shadow:0 8px 30px rgba(0,0,0,.3)}
.proctor-popup h2{font-size:1.2em;margin:0 0 8px}
.proctor-popup p{margin:6px 0}
.proctor-popup video{width:100%;max-height:50vh;background:#000;border-radius:6px;transform:scaleX(-1);object-fit:cover}
.proctor-popup input{font-size:1.4em;letter-spacing:.3em;width:8em;padding:4px 8px;border:2px solid #666;border-radius:6px}
.proctor-popup button{font-size:1em;padding:10px 18px;margin:10px 8px 0 0;border:0;border-radius:6px;background:#0a66c2;color:#fff;cursor:pointer;min-height:44px}
.proctor-popup button:focus-visible,.proctor-popup input:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.proctor-popup button[disabled]{background:#8aa}
.proctor-popup .proctor-count{font-size:2.4em;font-weight:700;text-align:center;color:#0a66c2}
.proctor-popup [role=status]{min-height:1.5em;color:#8a1c00}
.proctor-popup .proctor-left{color:#555;font-size:.9em}
.proctor-banner{position:fixed;left:0;right:0;top:0;background:#8a1c00;color:#fff;padding:10px 16px;z-index:2147482999;font:15px/1.4 system-ui,sans-serif;text-align:center}
`;

let styled = false;
function style(doc: Document): void {
  if (styled) return;
  const s = doc.createElement("style");
  s.textContent = CSS;
  doc.head.appendChild(s);
  styled = true;
}

export interface PopupParts {
  root: HTMLElement;
  body: HTMLElement;
  status: HTMLElement;
  left: HTMLElement;
  close(): void;
}

let seq = 0;

/** Open a modal dialog with a title and a description; focus stays inside until closed. */
export function openPopup(container: HTMLElement, title: string, description: string): PopupParts {
  const doc = container.ownerDocument;
  style(doc);
  const id = `proctor-${++seq}`;
  const overlay = doc.createElement("div");
  overlay.className = "proctor-overlay";
  const box = doc.createElement("div");
  box.className = "proctor-popup";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-labelledby", `${id}-t`);
  box.setAttribute("aria-describedby", `${id}-d`);
  box.lang = "zh-CN";
  box.innerHTML = `<h2 id="${id}-t"></h2><p id="${id}-d"></p><div data-proctor="body"></div>` +
    `<p role="status" aria-live="polite" data-proctor="status"></p><p class="proctor-left" data-proctor="left"></p>`;
  (box.querySelector("h2") as HTMLElement).textContent = title;
  (box.querySelector(`#${id}-d`) as HTMLElement).textContent = description;
  overlay.appendChild(box);
  container.appendChild(overlay);
  const previous = doc.activeElement as HTMLElement | null;
  const trap = (e: KeyboardEvent) => {
    if (e.key !== "Tab") return;
    const focusables = Array.from(box.querySelectorAll<HTMLElement>("button:not([disabled]),input"));
    if (!focusables.length) return;
    const first = focusables[0], last = focusables[focusables.length - 1];
    if (e.shiftKey && doc.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && doc.activeElement === last) { e.preventDefault(); first.focus(); }
  };
  box.addEventListener("keydown", trap);
  return {
    root: box,
    body: box.querySelector('[data-proctor="body"]') as HTMLElement,
    status: box.querySelector('[data-proctor="status"]') as HTMLElement,
    left: box.querySelector('[data-proctor="left"]') as HTMLElement,
    close() {
      overlay.remove();
      if (previous && typeof previous.focus === "function") previous.focus();
    },
  };
}

export function button(doc: Document, label: string, name: string): HTMLButtonElement {
  const b = doc.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.proctor = name;
  return b;
}

/** A banner that says something without blocking (e.g. another tab took over). */
export function banner(container: HTMLElement, text: string): () => void {
  const doc = container.ownerDocument;
  style(doc);
  const el = doc.createElement("div");
  el.className = "proctor-banner";
  el.setAttribute("role", "alert");
  el.dataset.proctor = "banner";
  el.textContent = text;
  container.appendChild(el);
  return () => el.remove();
}
