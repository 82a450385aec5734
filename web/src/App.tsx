import { useCallback, useEffect, useMemo, useState } from 'react';
import { AdminNavLinks, adminPage } from './admin/routes.js';
import { logout, me, type Me } from './api.js';
import { I18n, initialLang, type Lang, translator } from './i18n.js';
import { Chat } from './pages/Chat.js';
import { Login } from './pages/Login.js';
import { OrderDetail } from './pages/OrderDetail.js';
import { Orders } from './pages/Orders.js';
import { navigate, onLinkClick, usePath } from './router.js';
import { OpsLinks, opsPage } from './ops-routes.js';

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = useMemo(() => translator(lang), [lang]);
  const [who, setWho] = useState<Me | null | undefined>(undefined);
  const path = usePath();

  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('appName');
  }, [lang, t]);

  const load = useCallback(() => {
    me().then(setWho, () => setWho(null));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    const out = (): void => setWho(null);
    window.addEventListener('autoglm:logged-out', out);
    return () => window.removeEventListener('autoglm:logged-out', out);
  }, []);

  const switchLang = (l: Lang): void => {
    localStorage.setItem('autoglm.lang', l);
    setLang(l);
  };

  const doLogout = (): void => {
    logout()
      .catch(() => undefined)
      .finally(() => {
        sessionStorage.clear();
        setWho(null);
        navigate('/');
      });
  };

  let page: React.ReactNode;
  if (who === undefined) page = <p aria-live="polite">…</p>;
  else if (who === null) page = <Login onDone={load} />;
  else if (path === '/' || path === '/chat') page = <Chat />;
  else if (path === '/orders') page = <Orders who={who} />;
  else if (path.startsWith('/orders/')) page = <OrderDetail id={decodeURIComponent(path.slice(8))} who={who} />;
  else page = opsPage(path, who) ?? adminPage(path, who) ?? <h1>{t('notFound')}</h1>;

  const link = (href: string, label: string, active: boolean) => (
    <a href={href} onClick={onLinkClick} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );

  return (
    <I18n.Provider value={{ lang, t }}>
      <a className="skip" href="#main">
        {t('skip')}
      </a>
      <header className="top">
        <span className="brand">{t('appName')}</span>
        {who ? (
          <nav aria-label={t('nav')}>
            {link('/chat', t('navChat'), path === '/' || path === '/chat')}
            {link('/orders', t('navOrders'), path.startsWith('/orders'))}
            <OpsLinks path={path} link={link} />
            <AdminNavLinks who={who} path={path} link={link} />
          </nav>
        ) : null}
        <div className="tools">
          <label className="lang">
            <span>{t('language')}</span>
            <select value={lang} onChange={(e) => switchLang(e.target.value as Lang)}>
              <option value="zh">中文</option>
              <option value="en">English</option>
            </select>
          </label>
          {who ? (
            <>
              <span className="who">{t('signedInAs', { user: who.principal ?? who.actor, role: who.role })}</span>
              <button type="button" onClick={doLogout}>
                {t('logout')}
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </I18n.Provider>
  );
}
