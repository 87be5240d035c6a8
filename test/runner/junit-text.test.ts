import { describe, expect, it } from 'vitest'
import {
  decodeBody,
  decodeEntities,
  locationsIn,
  relativePath,
  secondsToMs,
  workspaceRoot,
} from '../../runner/junit/junit-text.js'

describe('secondsToMs', () => {
  it.each([
    ['0.123', 123],
    ['0,5', 500],
    ['1,234.567', 1_234_567],
    ['1.234,5', 1_234_500],
    ['1,234,567', 1_234_567_000],
    [' 2 ', 2000],
    ['0.000028', 0.028],
  ])('reads %s s as %s ms', (raw, ms) => {
    expect(secondsToMs(raw)).toBe(ms)
  })

  it.each([undefined, '', 'abc', '-1', 'NaN', 'Infinity'])('rejects %s', (raw) => {
    expect(secondsToMs(raw)).toBeUndefined()
  })
})

describe('decodeEntities and decodeBody', () => {
  it('decodes the XML entities and character references, and nothing else', () => {
    expect(
      decodeEntities('a &amp;b &lt;c&gt; &quot;&apos; &#10;&#x41;&#X42; &nbsp; &bogus &amp;'),
    ).toBe('a &b <c> "\' \nAB &nbsp; &bogus &')
    expect(decodeEntities('&#0; &#xD800; &#1114112;')).toBe('\uFFFD \uFFFD \uFFFD')
  })

  it('keeps CDATA verbatim and drops comments', () => {
    expect(decodeBody('a &amp; <![CDATA[<b> &amp;]]><!-- x --> c')).toBe('a & <b> &amp; c')
  })
})

describe('relativePath and locationsIn', () => {
  const root = workspaceRoot('/work/app/')

  it('makes paths inside the workspace relative and leaves the others', () => {
    expect(relativePath('/work/app/tests/a.php', root)).toBe('tests/a.php')
    expect(relativePath('file:///work/app/src/b.ts', root)).toBe('src/b.ts')
    expect(relativePath('/work/application/c.ts', root)).toBe('/work/application/c.ts')
    expect(relativePath('./tests/d.py', root)).toBe('tests/d.py')
    expect(relativePath('C:\\ci\\app\\e.cs', workspaceRoot('C:\\ci\\app'))).toBe('e.cs')
  })

  it('finds file:line in PHP, Python, Node and Vitest traces, not Java frames or node_modules', () => {
    const text = [
      '/work/app/src/Calculator.php:16',
      'tests/test_blog.py:15: AssertionError',
      '    at Object.<anonymous> (/work/app/node_modules/x/index.js:3:1)',
      '    at run (node:internal/process/task_queues:95:5)',
      '    at com.example.Foo.bar(Foo.java:42)',
      ' ❯ test/math.test.ts:11:25',
      '    at file:///work/app/lib/esm.mjs:7:9',
      'conftest.py:3: in fixture',
      'see also README.md:4 for details',
    ].join('\n')
    expect(locationsIn(text, root)).toEqual([
      { file: 'src/Calculator.php', line: 16 },
      { file: 'tests/test_blog.py', line: 15 },
      { file: 'test/math.test.ts', line: 11 },
      { file: 'lib/esm.mjs', line: 7 },
      { file: 'conftest.py', line: 3 },
    ])
  })
})
