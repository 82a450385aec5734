import { z } from 'zod';
import { CURRENCIES, type Currency } from './money.js';

/** zod form of a currency code, for configuration and request schemas. */
export const currencySchema = z.enum(Object.keys(CURRENCIES) as [Currency, ...Currency[]]);
