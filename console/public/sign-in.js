import { post, problemText } from './common.js';

const form = document.getElementById('sign-in');
const error = document.getElementById('sign-in-error');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const data = new FormData(form);
  const answer = await post('/api/session', { operator: data.get('operator'), key: data.get('key') });
  if (answer.ok) window.location.assign(form.dataset.next || '/calls');
  else error.textContent = problemText(answer.body);
});
