/**
 * Which Linux desktop session Sluice runs in, from what a session manager sets for every program it
 * starts. A desktop's proxy settings are changed only while its session runs: over ssh or on a
 * server its tools may be installed and a user bus may even be up, yet no desktop would read what
 * they write, and writing leaves files behind in the user's config.
 */
export interface RunningDesktops {
  /**
   * GNOME's settings (`org.gnome.system.proxy`) are in force: a GNOME-family session, or Plasma,
   * whose GTK programs (Firefox among them) read them too.
   */
  readonly gnome: boolean;
  /** KDE's settings (`kioslaverc`) are in force: only KDE programs, and others in Plasma, read them. */
  readonly kde: boolean;
}

// Sessions built on GNOME's settings: gnome-session and its variants (ubuntu, gnome-xorg,
// GNOME-Classic), and desktops whose proxy settings page writes `org.gnome.system.proxy`.
const GNOME_FAMILY = /^(x-)?(gnome|ubuntu|unity|budgie|cinnamon|mate|pantheon)\b/;
const KDE_FAMILY = /^(kde|plasma)/;

export function runningDesktops(env: NodeJS.ProcessEnv): RunningDesktops {
  const names = sessionNames(env);
  const kde = env['KDE_FULL_SESSION'] === 'true' || names.some((n) => KDE_FAMILY.test(n));
  const gnome = kde || Boolean(env['GNOME_DESKTOP_SESSION_ID']) || names.some((n) => GNOME_FAMILY.test(n));
  return { gnome, kde };
}

/**
 * Why a desktop that does not run here is left alone, in words for the user. When neither runs
 * both adapters say the same sentence, so the switch says it once.
 */
export function notRunningReason(env: NodeJS.ProcessEnv): string {
  const missing = runningDesktops(env).gnome ? 'KDE Plasma' : 'GNOME or KDE';
  return `No ${missing} session is running (${sessionWords(env)}).`;
}

/** XDG_CURRENT_DESKTOP's entries (`ubuntu:GNOME`) and DESKTOP_SESSION's name (it may be a path), lower case. */
function sessionNames(env: NodeJS.ProcessEnv): string[] {
  const current = (env['XDG_CURRENT_DESKTOP'] ?? '').split(':');
  const session = (env['DESKTOP_SESSION'] ?? '').split('/').at(-1) ?? '';
  return [...current, session].map((n) => n.trim().toLowerCase()).filter(Boolean);
}

function sessionWords(env: NodeJS.ProcessEnv): string {
  const current = env['XDG_CURRENT_DESKTOP'];
  if (current) return `XDG_CURRENT_DESKTOP is ${current}`;
  const session = env['DESKTOP_SESSION'];
  if (session) return `DESKTOP_SESSION is ${session}`;
  return 'XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set';
}
