import { html, raw } from 'hono/html';

/** The console's pages: one server-rendered shell each, live content drawn by the page's own module. */
export const PAGES = {
  calls: { title: 'Calls', nav: 'calls' },
  call: { title: 'Call', nav: 'calls' },
  conversations: { title: 'Conversations', nav: 'conversations' },
  contact: { title: 'Conversation', nav: 'conversations' },
  renders: { title: 'Renders', nav: 'renders' },
  render: { title: 'Render', nav: 'renders' },
  health: { title: 'Health', nav: 'health' },
} as const;

export type PageName = keyof typeof PAGES;

const NAV = [
  ['calls', '/calls', 'Calls'],
  ['conversations', '/conversations', 'Conversations'],
  ['renders', '/renders', 'Renders'],
  ['health', '/system-health', 'Health'],
] as const;

function shell(title: string, body: unknown, script: string) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · EasyMO console</title>
<link rel="stylesheet" href="/assets/console.css">
<script type="module" src="/assets/${script}.js"></script>
</head>
${body}
</html>`;
}

/** A page: header with navigation and the operator, a main region the module fills, a live status line. */
export function renderPage(page: PageName, operator: string, params: Record<string, string> = {}) {
  const { title, nav } = PAGES[page];
  const data = Object.entries(params)
    .map(([key, value]) => html` data-${key}="${value}"`)
    .reduce((all, part) => html`${all}${part}`, html``);
  return shell(
    title,
    html`<body>
<header class="top">
  <a class="brand" href="/calls">EasyMO console</a>
  <nav aria-label="Sections"><ul>
    ${raw(
      NAV.map(
        ([key, href, label]) =>
          `<li><a href="${href}"${key === nav ? ' aria-current="page"' : ''}>${label}</a></li>`,
      ).join(''),
    )}
  </ul></nav>
  <form class="operator" method="post" action="/sign-out">
    <span>Signed in as <strong>${operator}</strong></span>
    <button type="submit">Sign out</button>
  </form>
</header>
<main id="page" data-page="${page}"${data}>
  <h1>${title}</h1>
  <p class="live-status" role="status" aria-live="polite">Connecting…</p>
  <div id="content"></div>
</main>
</body>`,
    page,
  );
}

export function renderSignIn(next: string) {
  return shell(
    'Sign in',
    html`<body>
<main id="page" class="sign-in" data-page="sign-in">
  <h1>EasyMO console</h1>
  <form id="sign-in" data-next="${next}">
    <p><label for="operator">Your name</label><br><input id="operator" name="operator" autocomplete="username" required maxlength="64"></p>
    <p><label for="key">Operator key</label><br><input id="key" name="key" type="password" autocomplete="current-password" required></p>
    <p><button type="submit">Sign in</button></p>
    <p id="sign-in-error" class="error" role="alert"></p>
  </form>
</main>
</body>`,
    'sign-in',
  );
}
