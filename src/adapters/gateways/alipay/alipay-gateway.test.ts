import { gatewayContract } from '../../../../test/contracts/payment-gateway-contract.js';
import { alipayRig, APP_ID } from '../../../../test/support/alipay-fixture.js';
import { alipayNotificationFor } from '../../../simulator/alipay/alipay-notification-for.js';

// The connector against the simulator's Alipay face over real HTTP: QR precreate, paid later
// by the simulated payer, and the face's signed form-encoded notifications.
gatewayContract('Alipay connector against the simulator Alipay face', async () => {
  const rig = await alipayRig();
  return {
    gateway: rig.gateway,
    bank: rig.bank,
    method: 'alipay_qr',
    notificationFor: (e) => alipayNotificationFor(e, { appId: APP_ID, alipayPrivateKey: rig.alipayKeys.privateKey }),
    close: () => rig.close(),
  };
});
