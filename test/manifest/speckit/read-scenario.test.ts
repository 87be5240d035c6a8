import { describe, expect, it } from 'vitest'
import { readScenario } from '../../../src/manifest/speckit/read-scenario.js'

describe('the scenario grammar', () => {
  it.each([
    [
      'a visitor opens `/post.php?id=999`',
      'the page answers 404',
      { method: 'GET', path: '/post.php?id=999', status: 404 },
    ],
    [
      'a reader opens `/`',
      'the page shows "Hello, world"',
      { method: 'GET', path: '/', status: 200, bodyContains: ['Hello, world'] },
    ],
    [
      'someone visits `/about.html`',
      'the response returns status 200 and contains \u201cAbout us\u201d.',
      { method: 'GET', path: '/about.html', status: 200, bodyContains: ['About us'] },
    ],
    [
      'a reader requests `/feed.xml`',
      'the server responds with status 301 Moved Permanently',
      { method: 'GET', path: '/feed.xml', status: 301 },
    ],
    [
      'a visitor loads `/`',
      'the page shows "Blog", shows "Hello" and answers 200',
      { method: 'GET', path: '/', status: 200, bodyContains: ['Blog', 'Hello'] },
    ],
    [
      'a writer submits `title=Hi&body=There+you+go` to `/new.php`',
      'the page answers 201 and shows "Saved"',
      {
        method: 'POST',
        path: '/new.php',
        status: 201,
        body: 'title=Hi&body=There+you+go',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        bodyContains: ['Saved'],
      },
    ],
  ])('When %s, Then %s → an acceptance check', (when, then, check) => {
    expect(readScenario(when, then)).toEqual({ kind: 'check', check })
  })

  it.each([
    ['a reader scrolls to the bottom', 'older posts are listed', 'names no request path'],
    ['a reader opens the home page', 'the page answers 200', 'names no request path'],
    ['a reader opens `/` and clicks the first post', 'the post shows', 'names a path but is not'],
    ['a reader opens /post.php', 'the page answers 404', 'names no request path'],
    ['a reader opens `post.php`', 'the page answers 404', 'names no request path'],
    ['a writer submits `title: Hi` to `/new.php`', 'the page answers 201', 'not name=value'],
    ['a reader opens `/`', 'the page loads quickly', 'is not "answers NNN"'],
    ['a reader opens `/`', 'the page answers 404 and answers 200', 'two statuses'],
    ['a reader opens `/`', 'the page shows Hello', 'is not "answers NNN"'],
    ['a reader opens `/`', 'the page answers 404 quickly', 'continues with "quickly"'],
    ['a reader opens `/`', 'the page answers 700', 'is not "answers NNN"'],
    ['a reader opens `/`', '', 'the Then step is empty'],
  ])('When %s, Then %s → prose (%s)', (when, then, reason) => {
    const reading = readScenario(when, then)
    expect(reading.kind).toBe('prose')
    expect(reading.kind === 'prose' ? reading.reason : '').toContain(reason)
  })
})
