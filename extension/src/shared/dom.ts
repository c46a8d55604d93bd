/** Builds an element with a class, a test id and text: the pages render with this, never with innerHTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; testid?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.testid) e.dataset.testid = props.testid;
  if (props.text !== undefined) e.textContent = props.text;
  e.append(...children);
  return e;
}
