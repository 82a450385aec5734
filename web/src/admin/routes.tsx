import { Fragment, type ReactNode } from 'react';
import type { Permission } from '../../../src/domain/auth/permissions.js';
import type { Me } from '../api.js';
import { type Key, useI18n } from '../i18n.js';
import { ApiKeys } from '../pages/ApiKeys.js';
import { Blocks } from '../pages/Blocks.js';
import { Flags } from '../pages/Flags.js';
import { Ledger } from '../pages/Ledger.js';
import { Mandates } from '../pages/Mandates.js';
import { People } from '../pages/People.js';
import { ReconciliationReport, Reconciliations } from '../pages/Reconciliations.js';
import { may, SubNav } from './kit.js';

interface Screen {
  readonly href: string;
  readonly label: Key;
  /** What the role needs to see the screen (the API refuses the rest anyway). */
  readonly needs: Permission;
  readonly render: (who: Me, rest: string) => ReactNode;
}

interface Area {
  readonly base: string;
  readonly label: Key;
  readonly screens: readonly Screen[];
}

/** The money and admin screens, each behind the permission its API needs. */
export const AREAS: readonly Area[] = [
  {
    base: '/money',
    label: 'adminNavMoney',
    screens: [
      { href: '/money/ledger', label: 'adminLedgerTitle', needs: 'ledger.read', render: () => <Ledger /> },
      { href: '/money/flags', label: 'adminFlagsTitle', needs: 'flags.read', render: (who) => <Flags who={who} /> },
      {
        href: '/money/reconciliations',
        label: 'adminReconTitle',
        needs: 'reconciliations.read',
        render: (who, rest) =>
          rest === '' ? (
            <Reconciliations who={who} />
          ) : (
            <ReconciliationReport id={decodeURIComponent(rest)} who={who} />
          ),
      },
    ],
  },
  {
    base: '/admin',
    label: 'adminNavAdmin',
    screens: [
      {
        href: '/admin/people',
        label: 'adminPeopleTitle',
        needs: 'users.manage',
        render: (who) => <People who={who} />,
      },
      { href: '/admin/keys', label: 'adminKeysTitle', needs: 'keys.manage', render: () => <ApiKeys /> },
      {
        href: '/admin/mandates',
        label: 'adminMandatesTitle',
        needs: 'mandates.grant',
        render: (who) => <Mandates who={who} />,
      },
      {
        href: '/admin/blocks',
        label: 'adminBlocksTitle',
        needs: 'blocks.manage',
        render: (who) => <Blocks who={who} />,
      },
    ],
  },
];

const allowed = (area: Area, who: Me): Screen[] => area.screens.filter((s) => may(who, s.needs));

function AreaPage({ area, who, path }: { area: Area; who: Me; path: string }) {
  const { t } = useI18n();
  const screens = allowed(area, who);
  const screen =
    path === area.base ? screens[0] : area.screens.find((s) => path === s.href || path.startsWith(`${s.href}/`));
  let body: ReactNode;
  if (screen === undefined) body = <h1>{t('notFound')}</h1>;
  else if (!may(who, screen.needs))
    body = (
      <p role="alert" className="error">
        {t('adminForbidden', { role: who.role })}
      </p>
    );
  else body = screen.render(who, path.slice(screen.href.length + 1));
  return (
    <>
      {screens.length > 1 ? (
        <SubNav label={t(area.label)} links={screens.map((s) => [s.href, t(s.label)])} path={path} />
      ) : null}
      {body}
    </>
  );
}

/** The page of a money or admin path, or undefined when the path is not one of theirs. */
export function adminPage(path: string, who: Me): ReactNode | undefined {
  const area = AREAS.find((a) => path === a.base || path.startsWith(`${a.base}/`));
  return area === undefined ? undefined : <AreaPage area={area} who={who} path={path} />;
}

/** The top navigation's entries for the areas this role may see anything of. */
export function AdminNavLinks({
  who,
  path,
  link,
}: {
  who: Me;
  path: string;
  link: (href: string, label: string, active: boolean) => ReactNode;
}) {
  const { t } = useI18n();
  return (
    <>
      {AREAS.map((a) => {
        const screens = allowed(a, who);
        const first = screens[0];
        if (first === undefined) return null;
        // One screen (a person's mandates): named after it, not after the area.
        const label = screens.length === 1 ? t(first.label) : t(a.label);
        return (
          <Fragment key={a.base}>{link(first.href, label, path === a.base || path.startsWith(`${a.base}/`))}</Fragment>
        );
      })}
    </>
  );
}
