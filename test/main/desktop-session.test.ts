import { describe, expect, it } from 'vitest';
import { notRunningReason, runningDesktops } from '../../main/system-proxy/desktop-session.js';

describe('which desktop session runs', () => {
  it('reads what session managers set, GNOME and its relatives, Plasma, and nothing else', () => {
    const cases: [NodeJS.ProcessEnv, { gnome: boolean; kde: boolean }][] = [
      [{ XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' }, { gnome: true, kde: false }],
      [{ XDG_CURRENT_DESKTOP: 'GNOME-Classic:GNOME' }, { gnome: true, kde: false }],
      [{ XDG_CURRENT_DESKTOP: 'X-Cinnamon' }, { gnome: true, kde: false }],
      [{ XDG_CURRENT_DESKTOP: 'Budgie:GNOME' }, { gnome: true, kde: false }],
      [{ XDG_CURRENT_DESKTOP: 'MATE' }, { gnome: true, kde: false }],
      [{ DESKTOP_SESSION: 'gnome-xorg' }, { gnome: true, kde: false }],
      [{ GNOME_DESKTOP_SESSION_ID: 'this-is-deprecated' }, { gnome: true, kde: false }],
      // Plasma's GTK programs read GNOME's settings too.
      [{ XDG_CURRENT_DESKTOP: 'KDE' }, { gnome: true, kde: true }],
      [{ KDE_FULL_SESSION: 'true' }, { gnome: true, kde: true }],
      [{ DESKTOP_SESSION: '/usr/share/xsessions/plasma' }, { gnome: true, kde: true }],
      [{ DESKTOP_SESSION: 'plasmawayland' }, { gnome: true, kde: true }],
      [
        { XDG_CURRENT_DESKTOP: 'XFCE', DESKTOP_SESSION: 'xfce' },
        { gnome: false, kde: false },
      ],
      [{ XDG_CURRENT_DESKTOP: 'sway' }, { gnome: false, kde: false }],
      [{ XDG_CURRENT_DESKTOP: '' }, { gnome: false, kde: false }],
      // An ssh login: a user bus, but no desktop.
      [
        { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus', XDG_RUNTIME_DIR: '/run/user/1000' },
        { gnome: false, kde: false },
      ],
    ];
    for (const [env, running] of cases) expect([env, runningDesktops(env)]).toEqual([env, running]);
  });

  it('says which session is missing and what the environment says instead', () => {
    expect(notRunningReason({})).toBe(
      'No GNOME or KDE session is running (XDG_CURRENT_DESKTOP and DESKTOP_SESSION are not set).',
    );
    expect(notRunningReason({ XDG_CURRENT_DESKTOP: 'XFCE' })).toBe(
      'No GNOME or KDE session is running (XDG_CURRENT_DESKTOP is XFCE).',
    );
    expect(notRunningReason({ DESKTOP_SESSION: 'lxqt' })).toBe(
      'No GNOME or KDE session is running (DESKTOP_SESSION is lxqt).',
    );
    expect(notRunningReason({ XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' })).toBe(
      'No KDE Plasma session is running (XDG_CURRENT_DESKTOP is ubuntu:GNOME).',
    );
  });
});
