import { useMemo } from 'react';
import { parseMarkdown, type Inline } from './markdown.js';

/**
 * Model output rendered as Markdown: React elements built from `parseMarkdown`, text nodes only
 * (never HTML). A link shows its text, with the address beside it rather than followed: an
 * inspecting proxy opens nothing a response asked for.
 */
export function MarkdownView({ text }: { text: string }) {
  const blocks = useMemo(() => parseMarkdown(text), [text]);
  return (
    <div className="sse-markdown" data-testid="sse-joined-markdown">
      {blocks.map((block, i) => {
        switch (block.kind) {
          case 'heading': {
            const Tag = `h${Math.min(block.level + 2, 6)}` as 'h3';
            return (
              <Tag key={i}>
                <Runs runs={block.text} />
              </Tag>
            );
          }
          case 'paragraph':
            return (
              <p key={i}>
                <Runs runs={block.text} />
              </p>
            );
          case 'quote':
            return (
              <blockquote key={i}>
                <Runs runs={block.text} />
              </blockquote>
            );
          case 'list': {
            const items = block.items.map((item, j) => (
              <li key={j}>
                <Runs runs={item} />
              </li>
            ));
            return block.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
          }
          case 'code':
            return (
              <pre key={i} className="sse-text" data-language={block.language || undefined}>
                {block.code}
              </pre>
            );
        }
      })}
    </div>
  );
}

function Runs({ runs }: { runs: readonly Inline[] }) {
  return (
    <>
      {runs.map((run, i) => {
        switch (run.kind) {
          case 'text':
            return run.text;
          case 'code':
            return <code key={i}>{run.text}</code>;
          case 'strong':
            return <strong key={i}>{run.text}</strong>;
          case 'em':
            return <em key={i}>{run.text}</em>;
          case 'link':
            return (
              <span key={i} className="md-link" title={run.url}>
                {run.text} <span className="muted">({run.url})</span>
              </span>
            );
        }
      })}
    </>
  );
}
