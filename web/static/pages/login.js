// The login page works without JavaScript; this adds the show-password
// switch, keeps the window title in the chosen language and stops double submits.

import { t, onLangChange, getLang } from '../shared/i18n.js';

const field = document.getElementById('show-password-field');
const box = document.getElementById('show-password');
const password = document.getElementById('password');
if (field && box && password) {
  field.hidden = false;
  box.addEventListener('change', () => {
    password.type = box.checked ? 'text' : 'password';
  });
  // Never submit (or leave) the password in clear text in the form's state.
  document.getElementById('login-form')?.addEventListener('submit', () => {
    password.type = 'password';
  });
}

const button = document.getElementById('login-button');
document.getElementById('login-form')?.addEventListener('submit', (event) => {
  if (button?.dataset.busy) {
    event.preventDefault(); // a double click sends the form once
    return;
  }
  if (button) button.dataset.busy = '1';
});
window.addEventListener('pageshow', () => {
  if (button) delete button.dataset.busy;
});

function setTitle() {
  document.title = `${t('login.title')} – ${t('app.title')}`;
}
setTitle();
onLangChange(setTitle);

// A `?lang=` in the address applies to this page only: keep it across a failed attempt.
const form = document.getElementById('login-form');
function keepLang() {
  if (form && new URLSearchParams(location.search).has('lang')) form.action = `/login?lang=${getLang()}`;
}
keepLang();
onLangChange(keepLang);
