/**
 * The words the grammar knows, kept apart from its rules so they can be read and extended.
 * Everything is lower case and matched against normalised text (see text.ts).
 */

/** Other names people use for the default menu's drinks; applied only to ids the menu has. */
export const DRINK_ALIASES: Readonly<Record<string, readonly string[]>> = {
  latte: ['拿铁', '拿鐵', '拿铁咖啡', '拿提', 'latte', 'lattes', 'caffe latte', 'cafe latte', 'caffè latte', 'latté'],
  americano: ['美式', '美式咖啡', 'americano', 'americanos', 'caffe americano', 'black coffee', '黑咖啡'],
  cappuccino: ['卡布奇诺', '卡布奇洛', '卡布', 'cappuccino', 'cappuccinos', 'capuccino', 'cappucino', 'capuchino'],
  mocha: ['摩卡', '摩卡咖啡', 'mocha', 'mochas', 'caffe mocha', 'mocca'],
  flat_white: ['馥芮白', '澳白', 'flat white', 'flat whites', 'flatwhite'],
  caramel_macchiato: ['焦糖玛奇朵', '焦糖玛琪朵', '玛奇朵', '玛琪朵', 'caramel macchiato', 'caramel macchiatos', 'macchiato', 'macchiatos', 'caramel machiato'],
  espresso: ['意式浓缩', '浓缩咖啡', '浓缩', 'espresso', 'espressos', 'expresso', 'double espresso'],
};

/** Drinks people ask for that no coffee menu of ours has: an order for them is UNKNOWN_DRINK, not a guess. */
export const NOT_ON_MENU = [
  '奶茶', '珍珠奶茶', '绿茶', '红茶', '抹茶', '果汁', '橙汁', '可乐', '雪碧', '星冰乐', '啤酒', '矿泉水', '豆浆', '热巧克力',
  'milk tea', 'bubble tea', 'green tea', 'black tea', 'tea', 'juice', 'orange juice', 'coke', 'cola', 'frappuccino', 'smoothie', 'beer',
  'hot chocolate', 'matcha', 'water',
];

/** Sizes, longest first so 超大杯 wins over 大杯. */
export const SIZE_WORDS: ReadonlyArray<readonly [string, string]> = [
  ['超大杯', 'xlarge'], ['特大杯', 'xlarge'], ['大杯', 'large'], ['中杯', 'medium'], ['小杯', 'small'],
  ['extra large', 'xlarge'], ['extra-large', 'xlarge'], ['x-large', 'xlarge'], ['xlarge', 'xlarge'], ['venti', 'xlarge'], ['xl', 'xlarge'],
  ['grande', 'large'], ['large', 'large'], ['big', 'large'],
  ['tall', 'medium'], ['medium', 'medium'], ['regular', 'medium'],
  ['small', 'small'], ['short', 'small'],
];

export const ENGLISH_COUNTS: Readonly<Record<string, number>> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, 'a couple of': 2, couple: 2, 'a pair of': 2,
};

/** Phrases that point at the conversation's last order. */
export const LAST_ORDER_WORDS = [
  '刚才那单', '刚刚那单', '刚才那笔', '刚才的订单', '刚才的单', '刚才那杯', '刚刚那杯', '上一单', '上一笔', '上一个订单', '上个订单', '刚才', '刚刚', '那单', '这单', '那笔',
  'my last order', 'the last order', 'last order', 'that order', 'previous order', 'my order', 'the order', 'this order',
];
