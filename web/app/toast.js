// Notices that go away by themselves: a success notice (the alert line as role=status) stays a few
// seconds, longer while the pointer is over it or it holds the focus, and can be closed at once. Errors
// stay until the next action (role=alert). Where it stands — never over the legend, the scale or the
// buttons — is style.css's.

/** How long a notice stays (ms) once nothing holds it. */
export const NOTICE_MS = 6000;

const timers = new WeakMap();
const held = new WeakSet();

/** Hides `node` after NOTICE_MS, paused while hovered or focused. */
export function dismissLater(node, ms = NOTICE_MS) {
  if (!node.dataset.toast) {
    node.dataset.toast = 'true';
    const hold = () => { held.add(node); clearTimeout(timers.get(node)); };
    const release = () => {
      if (node.matches(':hover') || node.contains(document.activeElement)) return;
      held.delete(node);
      if (node.classList.contains('notice')) arm(node, ms);
    };
    node.addEventListener('mouseenter', hold);
    node.addEventListener('focusin', hold);
    node.addEventListener('mouseleave', release);
    node.addEventListener('focusout', () => setTimeout(release, 0));
  }
  node.setAttribute('role', 'status');
  node.setAttribute('aria-live', 'polite');
  node.tabIndex = 0;
  held.delete(node);
  arm(node, ms);
}

/** Keeps `node` (now an error) shown: no timer, role=alert again. */
export function keep(node) {
  clearTimeout(timers.get(node));
  node.setAttribute('role', 'alert');
  node.setAttribute('aria-live', 'assertive');
  node.removeAttribute('tabindex');
}

function arm(node, ms) {
  clearTimeout(timers.get(node));
  timers.set(node, setTimeout(() => {
    if (held.has(node)) return;
    node.hidden = true;
    node.textContent = '';
  }, ms));
}
