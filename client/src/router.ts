import { ref } from 'vue';

/**
 * A tiny history router: the console has a handful of flat pages, so a path + query ref is enough and
 * spares a dependency. The server answers every non-API path with index.html.
 */
export const route = ref(parse());

function parse(): { path: string; query: URLSearchParams } {
  return { path: location.pathname.replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) };
}

window.addEventListener('popstate', () => {
  route.value = parse();
});

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  route.value = parse();
}
