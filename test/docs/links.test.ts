// A fresh clone holds nothing but the repository: every reference a file makes to another file must
// resolve inside it. Checked in every file git tracks or would track (new, not ignored):
//  - Markdown links and images, `[text](target)`, and reference definitions in *.md, relative to the
//    document as GitHub renders them, with a `#anchor` checked against the target's headings;
//  - inline code in *.md naming a path that climbs out of the document's folder (`../…`);
//  - `docs/…` paths anywhere (code comments cite the documentation so), from the repository root;
//    a decision record may be cited by its number alone (docs/decisions/0001);
//  - any Markdown file named anywhere (a word ending in .md), from the file's folder or the root.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// What a directory walk leaves out when git is not available: what .gitignore keeps out of git.
const NOT_IN_REPOSITORY = new Set([
  '.git',
  'node_modules',
  'dist',
  'build',
  '.data',
  'src/database/generated',
  'test/artifacts',
  'bench/results',
]);

// Written by npm, not by people: no references to check.
const GENERATED = new Set(['package-lock.json']);

/**
 * References that must stay broken. Applied migrations are immutable: each database records the
 * SHA-256 of every migration file in _prisma_migrations and refuses to start when a file changed
 * (src/database/migrate.ts). The first line of the initial migration cites a design document that is not
 * part of the repository; its subject is docs/contract.md#data-model.
 */
const IMMUTABLE: { file: string; line: number }[] = [{ file: 'prisma/migrations/20260101000000_init/migration.sql', line: 1 }];

interface Problem {
  file: string;
  line: number;
  reference: string;
  reason: string;
}

interface Repository {
  files: Set<string>;
  directories: Set<string>;
  read(file: string): string | undefined;
}

function repositoryFiles(): string[] {
  try {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    // A tracked file deleted in the working tree is not there for a reader either.
    return listed.split('\0').filter((file) => file !== '' && existsSync(path.join(ROOT, file)));
  } catch {
    return walk('');
  }
}

function walk(directory: string): string[] {
  return readdirSync(path.join(ROOT, directory), { withFileTypes: true }).flatMap((entry) => {
    const relative = directory === '' ? entry.name : `${directory}/${entry.name}`;
    if (NOT_IN_REPOSITORY.has(relative)) return [];
    if (entry.isDirectory()) return walk(relative);
    return entry.isFile() ? [relative] : [];
  });
}

function repositoryOf(files: Iterable<string>, read: (file: string) => string | undefined): Repository {
  const set = new Set(files);
  const directories = new Set<string>(['']);
  for (const file of set) {
    const parts = file.split('/');
    for (let end = 1; end < parts.length; end++) directories.add(parts.slice(0, end).join('/'));
  }
  return { files: set, directories, read };
}

/** The text of a file, or undefined when it is binary. */
function readText(file: string): string | undefined {
  const bytes = readFileSync(path.join(ROOT, file));
  if (bytes.subarray(0, 8000).includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Lines of a Markdown text with fenced code blocks blanked (line numbers kept). */
function withoutFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line;
  });
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  }
  return anchors;
}

const NO_SUCH_FILE = 'no such file in the repository';
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>)\]]*/gi;

/**
 * Whether `target` (a repository path, normalised, without `#`) names a file or folder of the
 * repository, and the reason when it does not; `fragment` is checked against a Markdown target.
 */
function unresolved(repository: Repository, target: string, fragment: string | undefined, shorthand = false): string | undefined {
  if (target === '..' || target.startsWith('../')) return 'leaves the repository';
  const bare = target.replace(/\/$/, '');
  if (repository.directories.has(bare)) return fragment ? 'an anchor on a folder' : undefined;
  if (!repository.files.has(bare)) {
    if (shorthand && numberedRecord(repository, bare)) return undefined;
    return NO_SUCH_FILE;
  }
  if (!fragment || !bare.endsWith('.md')) return undefined;
  const text = repository.read(bare);
  return text !== undefined && anchorsOf(text).has(fragment) ? undefined : `no heading #${fragment} in ${bare}`;
}

/** `docs/decisions/0001` for the one record `docs/decisions/0001-<title>.md`. */
function numberedRecord(repository: Repository, target: string): boolean {
  const name = path.posix.basename(target);
  if (!/^\d+$/.test(name)) return false;
  const prefix = `${target}-`;
  return [...repository.files].filter((file) => file.startsWith(prefix) && !file.slice(prefix.length).includes('/')).length === 1;
}

function splitFragment(reference: string): { target: string; fragment: string | undefined } {
  const hash = reference.indexOf('#');
  const target = (hash === -1 ? reference : reference.slice(0, hash)).replace(/\?.*$/, '');
  const fragment = hash === -1 ? undefined : reference.slice(hash + 1);
  try {
    return { target: decodeURI(target), fragment: fragment && decodeURIComponent(fragment) };
  } catch {
    return { target, fragment };
  }
}

/** Every reference of `file` (text `text`) that does not resolve inside the repository. */
function brokenReferences(repository: Repository, file: string, text: string): Problem[] {
  const problems = new Map<string, Problem>();
  const report = (line: number, reference: string, reason: string | undefined) => {
    // The first rule to find a problem words it best (a link's reason over a file name's).
    if (reason && !problems.has(`${line}|${reference}`)) problems.set(`${line}|${reference}`, { file, line, reference, reason });
  };
  const directory = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
  const fromHere = (target: string) => path.posix.normalize(path.posix.join(directory, target));
  const isMarkdown = file.endsWith('.md');
  const lines = isMarkdown ? withoutFences(text) : text.split('\n');

  lines.forEach((rawLine, index) => {
    const line = index + 1;
    if (isMarkdown) {
      const codeSpans = [...rawLine.matchAll(/(`+)(.+?)\1/g)].map((match) => match[2]!.trim());
      const prose = rawLine.replace(/(`+)(.+?)\1/g, '');
      const targets = [
        ...[...prose.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)].map((match) =>
          match[1]!.replace(/^<|>$/g, ''),
        ),
        ...[...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*(\S+)/g)].map((match) => match[1]!.replace(/^<|>$/g, '')),
      ];
      for (const reference of targets) {
        if (SCHEME.test(reference) || reference.startsWith('//')) continue;
        const { target, fragment } = splitFragment(reference);
        if (target === '') {
          if (fragment && !anchorsOf(text).has(fragment)) report(line, reference, `no heading #${fragment} in this file`);
          continue;
        }
        report(
          line,
          reference,
          unresolved(repository, target.startsWith('/') ? path.posix.normalize(target.slice(1)) : fromHere(target), fragment),
        );
      }
      for (const code of codeSpans) {
        if (!/^\.\.\/[^\s]*$/.test(code)) continue;
        const { target, fragment } = splitFragment(code);
        report(line, code, unresolved(repository, fromHere(target), fragment));
      }
    }

    const plain = rawLine.replace(URL_IN_TEXT, '');
    for (const match of plain.matchAll(/(?<![\w./-])(docs\/[\w./-]*[\w/])(?:#([\w-]+))?/g)) {
      report(line, match[0], unresolved(repository, path.posix.normalize(match[1]!), match[2], true));
    }
    for (const match of plain.matchAll(/(?<![\w./-])((?:\.{1,2}\/)*(?:[\w-]+\/)*[\w.-]*\w\.md)(?![\w.-]*\w)(?:#([\w-]+))?/g)) {
      const named = match[1]!;
      if (named.startsWith('docs/')) continue;
      const here = unresolved(repository, fromHere(named), match[2]);
      const fromRoot = named.startsWith('.') ? here : unresolved(repository, path.posix.normalize(named), match[2]);
      // Unresolved both ways: when the file exists but lacks the anchor, say so.
      report(line, match[0], here && fromRoot && (here === NO_SUCH_FILE ? fromRoot : here));
    }
  });
  return [...problems.values()];
}

describe('references between files of the repository', () => {
  const files = repositoryFiles().filter((file) => !GENERATED.has(file));
  const texts = new Map<string, string | undefined>();
  const read = (file: string) => {
    if (!texts.has(file)) texts.set(file, readText(file));
    return texts.get(file);
  };
  const repository = repositoryOf(files, read);
  const problems = files.flatMap((file) => {
    const text = read(file);
    return text === undefined ? [] : brokenReferences(repository, file, text);
  });
  const isImmutable = (problem: Problem) => IMMUTABLE.some(({ file, line }) => problem.file === file && problem.line === line);

  it('finds the documentation it checks', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/contract.md', 'docs/architecture.md']));
  });

  it('resolve inside the repository', () => {
    const broken = problems
      .filter((problem) => !isImmutable(problem))
      .map(({ file, line, reference, reason }) => `${file}:${line}: ${reference}: ${reason}`);
    expect(broken).toEqual([]);
  });

  it('exempt only references that are still broken (remove an exemption once its file may change)', () => {
    for (const { file, line } of IMMUTABLE)
      expect(
        problems.some((problem) => problem.file === file && problem.line === line),
        `${file}:${line}`,
      ).toBe(true);
  });
});

describe('the decision records', () => {
  it('are each listed in docs/architecture.md, where a reader looks for them', () => {
    const records = repositoryFiles().filter((file) => /^docs\/decisions\/\d{4}-.*\.md$/.test(file));
    const architecture = readText('docs/architecture.md') ?? '';
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((record) => !architecture.includes(`](${record.slice('docs/'.length)})`))).toEqual([]);
  });
});

describe('the reference check', () => {
  // The paths below are assembled, so that this file itself names no missing file.
  const MD = '.' + 'md';
  const DOCS = 'docs' + '/';
  const repository = repositoryOf(
    ['README' + MD, `${DOCS}guide${MD}`, `${DOCS}decisions/0001-first${MD}`, 'src/a.ts', 'img/shot.png'],
    (file) => (file === `${DOCS}guide${MD}` ? '# Guide\n\n## The REST door\n\n```\n# not a heading\n```\n' : ''),
  );
  const check = (file: string, text: string) =>
    brokenReferences(repository, file, text).map(({ line, reference, reason }) => `${line}: ${reference}: ${reason}`);

  it('accepts links, anchors, images, folders, root paths and decision numbers that resolve', () => {
    expect(
      check('README' + MD, `See [the guide](${DOCS}guide${MD}#the-rest-door), ![shot](img/shot.png), [src](src/), [a](/src/a.ts).`),
    ).toEqual([]);
    expect(check(`${DOCS}guide${MD}`, `## The REST door\n[home](../README${MD}) and [up](#the-rest-door) and \`../src/a.ts\``)).toEqual([]);
    expect(check('src/a.ts', `// as measured (${DOCS}decisions/0001), see ${DOCS}guide${MD}#the-rest-door and README${MD}.`)).toEqual([]);
    expect(
      check(
        'README' + MD,
        `[web](https://example.com/x${MD}) <https://example.com> [mail](mailto:a@b.c)\n\`\`\`\n[x](missing${MD})\n\`\`\``,
      ),
    ).toEqual([]);
  });

  it('refuses links to missing files, missing anchors and paths out of the repository', () => {
    expect(check('README' + MD, `[gone](${DOCS}gone${MD})`)).toEqual([`1: ${DOCS}gone${MD}: no such file in the repository`]);
    expect(check('README' + MD, `[gone](${DOCS}guide${MD}#the-graphql-door)`)).toEqual([
      `1: ${DOCS}guide${MD}#the-graphql-door: no heading #the-graphql-door in ${DOCS}guide${MD}`,
    ]);
    expect(check('README' + MD, '[here](#nowhere)')).toEqual(['1: #nowhere: no heading #nowhere in this file']);
    expect(check('README' + MD, `The design is in \`../elsewhere/NOTES${MD}\`.`)).toEqual([
      `1: ../elsewhere/NOTES${MD}: leaves the repository`,
    ]);
    expect(check(`${DOCS}guide${MD}`, '[not a heading](#not-a-heading)')).toEqual([
      '1: #not-a-heading: no heading #not-a-heading in this file',
    ]);
  });

  it('refuses Markdown files and docs/ paths named in code that do not exist', () => {
    expect(check('src/a.ts', `// The GRAPH_READ rule (NOTES${MD} §1).`)).toEqual([`1: NOTES${MD}: no such file in the repository`]);
    expect(check('src/a.ts', `// see ${DOCS}missing.txt and (${DOCS}decisions/0002)`)).toEqual([
      `1: ${DOCS}missing.txt: no such file in the repository`,
      `1: ${DOCS}decisions/0002: no such file in the repository`,
    ]);
  });
});
