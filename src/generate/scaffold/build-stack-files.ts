import type { Manifest } from '../../manifest/types.js'
import { GenerateError } from '../types.js'
import { readAllowCreate, readSeedPosts } from './read-manifest-data.js'
import { renderTemplate } from './render-template.js'

/** Templates of the php stack, by the path they are written to (template: `php/<path>.mustache`). */
const PHP_TEMPLATES = [
  '.gitignore',
  'README.md',
  'phpunit.xml',
  'public/index.php',
  'public/post.php',
  'public/style.css',
  'src/Html.php',
  'src/Pages.php',
  'src/Post.php',
  'src/PostRepository.php',
  'src/Response.php',
  'src/Site.php',
  'src/bootstrap.php',
  'tests/HttpTest.php',
  'tests/PagesTest.php',
  'tests/PostRepositoryTest.php',
  'tests/TestServer.php',
  'tests/bootstrap.php',
]
/** Only when the manifest sets `data.allowCreate: true`. */
const PHP_CREATE_TEMPLATES = ['public/new.php', 'src/PostForm.php', 'tests/CreatePostTest.php']

const STATIC_TEMPLATES = [
  '.gitignore',
  'README.md',
  'public/index.html',
  'public/style.css',
  'test/site.test.mjs',
]

/**
 * Renders every file the scaffold writes for the manifest's stack, by path. Manifest values
 * reach HTML and Markdown through escaped template variables, and PHP and JavaScript code only
 * through JSON files written with JSON.stringify, never through a template.
 */
export async function buildStackFiles(manifest: Manifest): Promise<Map<string, string>> {
  const stack: string = manifest.stack
  if (stack === 'php') return buildPhpFiles(manifest)
  if (stack === 'static') return buildStaticFiles(manifest)
  throw new GenerateError(
    'unsupported-stack',
    `The scaffold generator has no templates for the stack "${stack}"; it supports php and static. Change the manifest's stack, or configure a command generator (generator.kind: command in .github/devsys.yml).`,
  )
}

async function buildPhpFiles(manifest: Manifest): Promise<Map<string, string>> {
  const posts = readSeedPosts(manifest)
  const allowCreate = readAllowCreate(manifest)
  const view = { ...baseView(manifest), allowCreate }
  const templates = allowCreate ? [...PHP_TEMPLATES, ...PHP_CREATE_TEMPLATES] : PHP_TEMPLATES
  const files = await renderAll('php', templates, view)
  // Four spaces and unescaped slashes and Unicode: what PHP's json_encode writes when the blog
  // saves a post, so the first saved post does not reformat the whole file.
  files.set('data/posts.json', json(posts, 4))
  files.set(
    'data/site.json',
    json({ title: manifest.title, description: manifest.description, allowCreate }, 4),
  )
  files.set('tests/acceptance.json', json(manifest.acceptance, 4))
  return files
}

async function buildStaticFiles(manifest: Manifest): Promise<Map<string, string>> {
  const files = await renderAll('static', STATIC_TEMPLATES, baseView(manifest))
  files.set(
    'test/site.json',
    json(
      {
        title: manifest.title,
        description: manifest.description,
        stories: manifest.stories,
        acceptance: manifest.acceptance,
      },
      2,
    ),
  )
  // Node's JUnit reporter does not create the folder it writes build/junit.xml into.
  files.set('build/.gitkeep', '')
  return files
}

async function renderAll(
  stack: string,
  paths: readonly string[],
  view: object,
): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  for (const path of paths) files.set(path, await renderTemplate(`${stack}/${path}`, view))
  return files
}

function baseView(manifest: Manifest) {
  return {
    id: manifest.id,
    title: manifest.title,
    description: manifest.description,
    // Every key is set: a key missing from a story would make Mustache look it up in the
    // enclosing view (the manifest's own id) instead.
    stories: manifest.stories.map((story) => ({
      anchor: story.id ?? '',
      as: story.as,
      want: story.want,
      soThat: story.soThat ?? '',
      article: /^[aeiou]/i.test(story.as) ? 'an' : 'a',
    })),
  }
}

function json(value: unknown, indent: number): string {
  return `${JSON.stringify(value, null, indent)}\n`
}
