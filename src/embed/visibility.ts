/**
 * A guard against clickjacking: the partner's page cannot click inside the widget, but it could cover the widget
 * with its own content, or fade or shrink it, so that a visitor presses Start without seeing what it is.
 * IntersectionObserver v2 (`trackVisibility`, https://w3c.github.io/IntersectionObserver/v2/) reports whether an
 * element is drawn unoccluded and without opacity, transform or filter effects from any ancestor, the partner's page
 * included; Start counts only when it is. Browsers without v2 are not guarded (they show nothing to check with).
 */

// IntersectionObserver v2 is not in TypeScript's DOM library yet.
interface VisibilityInit extends IntersectionObserverInit {
  trackVisibility: boolean
  /** At least 100 ms with trackVisibility. */
  delay: number
}
interface VisibilityEntry extends IntersectionObserverEntry {
  isVisible: boolean
}

/** Whether this browser can tell (IntersectionObserver v2). */
export function canTrackVisibility(): boolean {
  return typeof IntersectionObserverEntry !== 'undefined' && 'isVisible' in IntersectionObserverEntry.prototype
}

/** Watches an element; `visible()` is true while it is fully drawn, unoccluded and unaltered (or when unknowable). */
export function watchVisibility(element: Element): { visible: () => boolean; stop: () => void } {
  if (!canTrackVisibility()) return { visible: () => true, stop: () => {} }
  let visible = false
  const init: VisibilityInit = { trackVisibility: true, delay: 100, threshold: [0, 1] }
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) visible = (entry as VisibilityEntry).isVisible
    },
    init,
  )
  observer.observe(element)
  return { visible: () => visible, stop: () => observer.disconnect() }
}
