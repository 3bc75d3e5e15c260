/** `sluice-2026-11-23-140512.har`, in local time like a browser's download names: the name every HAR export offers. */
export function harFileName(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `sluice-${day}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}.har`;
}
