// Message formatting: a safe subset of Markdown — **bold**, *italic* / _italic_, ~~strike~~,
// `inline code`, ``` code blocks ```, > quotes, - and 1. lists — parsed by markdown-it (its
// "zero" preset with only these rules on) into tokens, and the tokens turned into Preact
// elements here. No HTML string is ever produced or parsed: raw HTML in a message stays text,
// and so do headings, tables, images and Markdown links (links are made from the text itself).
import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import type { ComponentChildren } from 'preact';

const parser = new MarkdownIt('zero', { breaks: true }).enable([
  'emphasis', 'strikethrough', 'backticks', 'escape', 'newline', // inline
  'fence', 'blockquote', 'list', // block (paragraph is always on)
]);

/** Characters that can start formatting: a text without any is drawn as it is, unparsed. */
const MARKUP = /[*_~`>\\]|^\s*(?:[-+]|\d{1,9}[.)])\s/m;

type Text = (text: string) => ComponentChildren;

function inline(tokens: Token[], text: Text): ComponentChildren[] {
  const root: ComponentChildren[] = [];
  const stack: { tag: string; children: ComponentChildren[] }[] = [{ tag: '', children: root }];
  const top = () => stack[stack.length - 1].children;
  for (const token of tokens) {
    if (token.nesting === 1) {
      stack.push({ tag: token.tag, children: [] });
    } else if (token.nesting === -1 && stack.length > 1) {
      const { tag, children } = stack.pop()!;
      top().push(element(tag, children));
    } else if (token.type === 'text') {
      top().push(text(token.content));
    } else if (token.type === 'code_inline') {
      top().push(<code class="md-code">{token.content}</code>);
    } else if (token.type === 'softbreak' || token.type === 'hardbreak') {
      top().push(<br />);
    }
  }
  // Unclosed (cannot happen with markdown-it's balanced output, but never lose text).
  while (stack.length > 1) {
    const { children } = stack.pop()!;
    top().push(...children);
  }
  return root;
}

function element(tag: string, children: ComponentChildren[]): ComponentChildren {
  switch (tag) {
    case 'strong': return <strong>{children}</strong>;
    case 'em': return <em>{children}</em>;
    case 's': return <s>{children}</s>;
    case 'blockquote': return <blockquote class="md-quote">{children}</blockquote>;
    case 'ul': return <ul class="md-list">{children}</ul>;
    case 'li': return <li>{children}</li>;
    case 'p': return <p class="md-p">{children}</p>;
    default: return <>{children}</>;
  }
}

/** The blocks of a message: paragraphs, quotes, lists, code blocks. */
function blocks(tokens: Token[], text: Text): ComponentChildren[] {
  const root: ComponentChildren[] = [];
  const stack: { token: Token; children: ComponentChildren[] }[] = [];
  const top = () => (stack.length ? stack[stack.length - 1].children : root);
  for (const token of tokens) {
    if (token.type === 'inline') {
      top().push(...inline(token.children ?? [], text));
    } else if (token.type === 'fence' || token.type === 'code_block') {
      top().push(<pre class="md-pre"><code>{token.content.replace(/\n$/, '')}</code></pre>);
    } else if (token.nesting === 1) {
      stack.push({ token, children: [] });
    } else if (token.nesting === -1 && stack.length) {
      const { token: open, children } = stack.pop()!;
      if (open.hidden) top().push(...children); // the paragraphs of a tight list
      else if (open.tag === 'ol') {
        const start = Number(open.attrGet('start') ?? 1);
        top().push(<ol class="md-list" start={start}>{children}</ol>);
      } else top().push(element(open.tag, children));
    }
  }
  while (stack.length) {
    const { children } = stack.pop()!;
    top().push(...children);
  }
  return root;
}

/**
 * A message's text with its formatting as elements; `text` draws the plain runs (links and
 * mentions). A text without formatting characters is not parsed at all.
 */
export function formatted(source: string, text: Text): ComponentChildren {
  if (!MARKUP.test(source)) return text(source);
  return blocks(parser.parse(source, {}), text);
}

/** The text without its formatting marks, on one line: for previews and notifications. */
export function plainText(source: string): string {
  if (!MARKUP.test(source)) return source;
  const parts: string[] = [];
  for (const token of parser.parse(source, {})) {
    if (token.type === 'inline') {
      for (const child of token.children ?? []) {
        if (child.type === 'text' || child.type === 'code_inline') parts.push(child.content);
        else if (child.type === 'softbreak' || child.type === 'hardbreak') parts.push(' ');
      }
    } else if (token.type === 'fence' || token.type === 'code_block') parts.push(token.content.trim());
    else if (token.type === 'paragraph_close' || token.type === 'list_item_close') parts.push(' ');
  }
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/** One to three emoji and nothing else: drawn large, as messengers do. */
export function isEmojiOnly(source: string): boolean {
  const trimmed = source.trim();
  if (!trimmed || trimmed.length > 64) return false;
  let count = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(trimmed)) {
    if (/^\s+$/u.test(segment)) continue;
    if (!/\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(segment)) return false;
    if (++count > 3) return false;
  }
  return count > 0;
}
