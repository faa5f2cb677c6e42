// The colour theme: "system" (follows prefers-color-scheme, also when it changes), "light" or
// "dark", chosen in Settings and kept on this device. Applied as data-theme="light"|"dark" on
// <html>, which base.css keys its dark palette on.
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'parley.theme';
const query = window.matchMedia('(prefers-color-scheme: dark)');

export function themeChoice(): ThemeChoice {
  const stored = localStorage.getItem(KEY);
  return stored === 'light' || stored === 'dark' ? stored : 'system';
}

function apply(): void {
  const choice = themeChoice();
  const dark = choice === 'dark' || (choice === 'system' && query.matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

export function setThemeChoice(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  apply();
}

/** Applies the stored choice now and follows the system's scheme while the choice is "system". */
export function startTheme(): void {
  apply();
  query.addEventListener('change', apply);
  // Another tab of this browser changed the choice.
  window.addEventListener('storage', (event) => {
    if (event.key === KEY || event.key === null) apply();
  });
}
