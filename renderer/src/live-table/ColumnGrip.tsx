import { useRef, type PointerEvent } from 'react';
import './column-grip.css';

/**
 * The right edge of a column's header: drag it to set the column's width, double-click it to let
 * the column fit its values again.
 */
export function ColumnGrip({ label, onWidth }: { label: string; onWidth: (px: number | undefined) => void }) {
  const drag = useRef<{ x: number; width: number } | undefined>(undefined);
  const onPointerDown = (e: PointerEvent<HTMLSpanElement>): void => {
    const cell = e.currentTarget.parentElement?.getBoundingClientRect();
    if (!cell) return;
    e.preventDefault();
    e.stopPropagation();
    drag.current = { x: e.clientX, width: cell.width };
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onPointerMove = (e: PointerEvent<HTMLSpanElement>): void => {
    if (drag.current) onWidth(drag.current.width + e.clientX - drag.current.x);
  };
  const end = (): void => {
    drag.current = undefined;
  };
  return (
    <span
      className="col-grip"
      data-testid={`col-grip-${label}`}
      title={`Drag to resize ${label}; double-click to fit its values again`}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={end}
      onPointerCancel={end}
      onDoubleClick={() => onWidth(undefined)}
    />
  );
}
