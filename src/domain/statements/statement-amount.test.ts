import { describe, expect, it } from 'vitest';
import { fenToStatementYuan, statementYuanToFen } from './statement-amount.js';

describe('statement amounts: yuan strings → integer fen, strictly', () => {
  it.each([
    ['12.30', 1230],
    ['-5.00', -500],
    ['0.5', 50],
    ['0.05', 5],
    ['0', 0],
    ['-0.00', 0],
    ['88.88', 8888],
    ['100', 10000],
    ['0.1', 10],
    ['19.99', 1999],
    ['99999999.99', 9999999999],
  ])('%s → %i fen', (text, fen) => {
    expect(statementYuanToFen(text)).toBe(fen);
  });

  it.each([
    [''],
    ['1.234'],
    ['1e3'],
    ['1E2'],
    ['1,000.00'],
    ['.5'],
    ['5.'],
    ['+5.00'],
    ['¥5.00'],
    ['5.00元'],
    [' 5.00'],
    ['--5'],
    ['NaN'],
    ['0x10'],
    ['100000000.01'],
    ['１２.３０'],
  ])('refuses %j', (text) => {
    expect(statementYuanToFen(text)).toBeUndefined();
  });

  it('never goes through a float: 0.07 + 0.1 style sums stay exact', () => {
    expect(statementYuanToFen('0.07')).toBe(7);
    expect(statementYuanToFen('1.15')).toBe(115);
    expect(statementYuanToFen('4.35')).toBe(435);
  });

  it.each([
    [1230, '12.30'],
    [-500, '-5.00'],
    [5, '0.05'],
    [0, '0.00'],
    [-1, '-0.01'],
  ])('writes %i fen as %s', (fen, text) => {
    expect(fenToStatementYuan(fen)).toBe(text);
    expect(statementYuanToFen(text)).toBe(fen);
  });
});
