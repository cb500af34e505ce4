// The console's shell: sign-in (TS-API session cookie), navigation, hash routing to page modules.
import {api, clear, errorBox, h, session} from './lib.js';

const PAGES = ['dashboard', 'live', 'channels', 'search', 'read', 'devices', 'lists', 'parking', 'try', 'settings'];
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const menu = document.getElementById('menu');
let cleanup = null;
let generation = 0;

function route() {
  const [path] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = path.split('/');
  return {page: PAGES.includes(page) ? page : 'dashboard', arg: rest.map(decodeURIComponent).join('/')};
}

async function whoAmI() {
  try {
    return (await api('/api/info?whoAmI')).whoAmI;
  } catch {
    return null;
  }
}

function showSignIn(message) {
  stop();
  document.getElementById('who').hidden = true;
  nav.hidden = true;
  menu.hidden = true;
  document.body.classList.add('signed-out');
  const form = document.getElementById('signin-tpl').content.cloneNode(true);
  clear(main, form);
  const err = document.getElementById('signin-error');
  if (message) err.textContent = message;
  document.getElementById('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = document.getElementById('signin-user').value;
    const password = document.getElementById('signin-password').value;
    err.textContent = '';
    const bytes = new TextEncoder().encode(`${user}:${password}`);
    const login = btoa(String.fromCharCode(...bytes));
    try {
      await api(`/api/auth?login=${encodeURIComponent(login)}`);
      await start();
    } catch (ex) {
      err.textContent = ex.status === 401 ? 'Wrong user or password.' : ex.message;
    }
  });
  document.getElementById('signin-user').focus();
}

function stop() {
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch { /* page already gone */ }
  }
  cleanup = null;
}

async function render() {
  const {page, arg} = route();
  const mine = ++generation;
  stop();
  for (const a of nav.querySelectorAll('a')) {
    const on = a.dataset.page === page || (page === 'read' && a.dataset.page === 'search');
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  nav.classList.remove('open');
  menu.setAttribute('aria-expanded', 'false');
  document.title = `platehub · ${page === 'try' ? 'Try it' : page[0].toUpperCase() + page.slice(1)}`;
  const section = h('section', {class: `page page-${page}`, 'data-page': page});
  clear(main, section);
  try {
    const mod = await import(`./pages/${page}.js`);
    if (mine !== generation) return;
    cleanup = await mod.render(section, arg);
    if (mine !== generation) stop();
  } catch (e) {
    if (mine === generation) section.append(errorBox(e));
  }
  section.dataset.ready = '1';
}

async function start() {
  const me = await whoAmI();
  if (!me) return showSignIn();
  session.user = me;
  document.body.classList.remove('signed-out');
  document.getElementById('who-name').textContent = me.name || me.uid;
  document.getElementById('who').hidden = false;
  nav.hidden = false;
  menu.hidden = false;
  await render();
}

menu.addEventListener('click', () => {
  const open = nav.classList.toggle('open');
  menu.setAttribute('aria-expanded', String(open));
});
document.getElementById('sign-out').addEventListener('click', async () => {
  try { await api('/api/auth?logout'); } catch { /* signed out anyway */ }
  session.user = null;
  showSignIn('Signed out.');
});
window.addEventListener('hashchange', () => { if (session.user) render(); });
window.addEventListener('platehub:signed-out', () => {
  if (session.user) {
    session.user = null;
    showSignIn('Your session has ended; sign in again.');
  }
});
start();
