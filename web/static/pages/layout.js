// The shared layout of base.html: translations of the header, the language
// switch (#lang-toggle) and the current page in the navigation. Loaded by
// every page that uses base.html's default body; page scripts listen with
// onLangChange() from ../shared/i18n.js and must not bind #lang-toggle themselves.

import { applyI18n, toggleLang, onLangChange, getLang, addMessages } from '../shared/i18n.js';
import { fillIcons } from '../shared/icons.js';
import { MESSAGES } from './messages.js';

// Every page on base.html gets these texts before its own script runs
// (module scripts run in document order, this one first).
addMessages(MESSAGES);

function markCurrent() {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  for (const link of document.querySelectorAll('.app-nav a[href]')) {
    const href = link.getAttribute('href');
    if (href === path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

const toggle = document.getElementById('lang-toggle');
if (toggle && !toggle.dataset.bound) {
  toggle.dataset.bound = 'layout';
  toggle.addEventListener('click', () => toggleLang());
}
fillIcons(document.querySelector('.app-header') || document.createElement('div'));
fillIcons(document.querySelector('.login-top') || document.createElement('div'));
function langAttr() {
  // The button names the other language, so it speaks that language.
  if (toggle) toggle.lang = getLang() === 'vi' ? 'en' : 'vi';
}

markCurrent();
applyI18n();
langAttr();
onLangChange(langAttr);
