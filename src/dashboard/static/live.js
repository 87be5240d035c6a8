// DevSys dashboard: live updates. The server announces changes over Server-Sent Events; the
// page then fetches itself again and swaps its <main>, so every view is rendered by the server
// only. No inline script anywhere: the Content-Security-Policy allows only this file.
;(() => {
  const main = document.getElementById('live')
  const source = main?.dataset.live
  if (!main || !source || typeof EventSource === 'undefined') return
  let refreshing = false
  let again = false
  const refresh = async () => {
    if (refreshing) {
      again = true
      return
    }
    refreshing = true
    try {
      const answer = await fetch(location.href, {
        credentials: 'same-origin',
        headers: { accept: 'text/html' },
      })
      if (!answer.ok) return
      const next = new DOMParser()
        .parseFromString(await answer.text(), 'text/html')
        .getElementById('live')
      if (next) {
        main.innerHTML = next.innerHTML
        main.dataset.version = String(Number(main.dataset.version ?? '0') + 1)
      }
    } finally {
      refreshing = false
      if (again) {
        again = false
        void refresh()
      }
    }
  }
  const events = new EventSource(source)
  events.addEventListener('change', () => void refresh())
  events.addEventListener('open', () => main.classList.remove('offline'))
  events.addEventListener('error', () => main.classList.add('offline'))
})()
