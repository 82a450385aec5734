import type { ReactNode } from 'react';
import type { Me } from './api.js';
import { useI18n } from './i18n.js';
import './ops.css';
import { Batch } from './pages/Batch.js';
import { Channels } from './pages/Channels.js';
import { RechargeDetail } from './pages/RechargeDetail.js';
import { Recharges } from './pages/Recharges.js';

/** The operations screens' pages by path (recharges, batches, channels); null for any other path. */
export function opsPage(path: string, who: Me): ReactNode {
  if (path === '/recharges') return <Recharges who={who} />;
  if (path.startsWith('/recharges/')) return <RechargeDetail id={decodeURIComponent(path.slice(11))} />;
  if (path === '/batches') return <Batch id={null} />;
  // The batch's id in the address: a reload shows the same batch's progress.
  if (path.startsWith('/batches/')) return <Batch id={decodeURIComponent(path.slice(9))} />;
  if (path === '/channels') return <Channels />;
  return null;
}

/** Their entries in the navigation. */
export function OpsLinks({
  path,
  link,
}: {
  path: string;
  link: (href: string, label: string, active: boolean) => ReactNode;
}) {
  const { t } = useI18n();
  return (
    <>
      {link('/recharges', t('navRecharges'), path.startsWith('/recharges'))}
      {link('/batches', t('navBatches'), path.startsWith('/batches'))}
      {link('/channels', t('navChannels'), path === '/channels')}
    </>
  );
}
