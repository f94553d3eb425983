// Translations for every page: Vietnamese first, English one click away
// (#lang-toggle). The choice is remembered in localStorage (`conference.lang`,
// shared by all pages); `?lang=en|vi` in the URL overrides it.
//
// Each page registers its catalogue with addMessages({vi: {...}, en: {...}})
// before it renders (meeting/messages.js, console/messages.js, pages/messages.js).
// Markup opts in with attributes (keys no catalogue knows are left alone):
//   data-i18n="key"              -> textContent
//   data-i18n-aria-label="key"   -> aria-label
//   data-i18n-title="key"        -> title
//   data-i18n-placeholder="key"  -> placeholder
//   data-i18n-alt="key"          -> alt

const STORAGE_KEY = 'conference.lang';
const LANGUAGES = ['vi', 'en'];
const DEFAULT_LANG = 'vi';

const MESSAGES = { vi: {}, en: {} };

function normalise(value) {
  const v = String(value || '').trim().toLowerCase().slice(0, 2);
  return LANGUAGES.includes(v) ? v : null;
}

function storedLang() {
  try {
    return normalise(window.localStorage.getItem(STORAGE_KEY));
  } catch {
    return null; // storage disabled (private mode, policy)
  }
}

function urlLang() {
  return normalise(new URLSearchParams(window.location.search).get('lang'));
}

let current = urlLang() || storedLang() || DEFAULT_LANG;
const listeners = new Set();

/** Add a page's translations: {vi: {...}, en: {...}}. */
export function addMessages(tables) {
  for (const lang of LANGUAGES) Object.assign(MESSAGES[lang], tables?.[lang] || {});
}

/** The active language code ("vi" or "en"). */
export function getLang() {
  return current;
}

/** The number locale of the active language. */
export function locale() {
  return current === 'vi' ? 'vi-VN' : 'en-GB';
}

/** Whether a translation exists for `key`. */
export function has(key) {
  return key in MESSAGES[DEFAULT_LANG] || key in MESSAGES.en;
}

/** Translate `key`, replacing `{name}` with params.name; falls back to Vietnamese, then to the key. */
export function t(key, params = {}) {
  let text = MESSAGES[current]?.[key] ?? MESSAGES[DEFAULT_LANG][key] ?? key;
  for (const [name, value] of Object.entries(params)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

const ATTRS = [
  ['i18nAriaLabel', 'data-i18n-aria-label', 'aria-label'],
  ['i18nTitle', 'data-i18n-title', 'title'],
  ['i18nPlaceholder', 'data-i18n-placeholder', 'placeholder'],
  ['i18nAlt', 'data-i18n-alt', 'alt'],
];

/** Fill every [data-i18n*] element under `root` whose key is known. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    if (has(el.dataset.i18n)) el.textContent = t(el.dataset.i18n);
  }
  for (const [prop, selector, attr] of ATTRS) {
    for (const el of root.querySelectorAll(`[${selector}]`)) {
      if (has(el.dataset[prop])) el.setAttribute(attr, t(el.dataset[prop]));
    }
  }
  document.documentElement.lang = current;
}

/** Switch language, remember it, keep a `?lang=` in the URL in line (a join token stays), re-render. */
export function setLang(lang) {
  current = normalise(lang) || DEFAULT_LANG;
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    /* ignore */
  }
  const url = new URL(window.location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.set('lang', current);
    window.history.replaceState(window.history.state, '', url.toString());
  }
  applyI18n();
  for (const fn of listeners) fn(current);
}

/** Switch to the other language. */
export function toggleLang() {
  setLang(current === 'vi' ? 'en' : 'vi');
}

/** Call `fn(lang)` after every language change. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "{n} sites selected" with English singular. */
export function plural(key, n) {
  if (n === 1 && has(`${key}One`) && current === 'en') return t(`${key}One`, { n });
  return t(key, { n: n.toLocaleString(locale()) });
}
