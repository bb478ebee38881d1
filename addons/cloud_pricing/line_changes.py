# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What a spec change does to the lines of a priced instance, as plain
Python (no ORM).

A subscription line of a priced instance carries the key of the line item it
bills (``pricing.LineItem.key``: ``compute:<component>``,
``storage:<component>:<path>``, ``csp:<sku>``, ``managed``,
``sizing:<bracket>``). When the spec changes, the new line items are
matched to the current lines by key (doc/spec_change.rst):

* same key, product and unit price, another value: the line's limit changes
  (the engine's limit change, prorated by days);
* same key, another product or unit price (a plan or SLA tier changed, or
  the catalog's price since the order): the line ends and a new line bills
  the item, since a limit change carries a quantity, not a price;
* a key no longer priced: the line ends (its limit goes to 0 and its end
  date is the day before the change);
* a new key: a new line from the day of the change.
"""
from dataclasses import dataclass
from decimal import Decimal

__all__ = ['CurrentLine', 'LineChanges', 'line_changes']


@dataclass(frozen=True)
class CurrentLine:
    "A line of the instance in force on the day of the change"
    key: str
    product: str
    quantity: Decimal
    unit_price: Decimal
    ref: object = None  # the caller's record


@dataclass(frozen=True)
class LineChanges:
    "What to do: (line, new quantity) limit changes, lines ended, items added"
    changed: tuple = ()
    ended: tuple = ()
    added: tuple = ()

    def __bool__(self):
        return bool(self.changed or self.ended or self.added)


def _decimal(value, name):
    if isinstance(value, bool) or not isinstance(
            value, (Decimal, int, float)):
        raise TypeError(f"{name} must be a number, not "
            f"{type(value).__name__}")
    # A float limit (Tryton's quantity) as its shortest decimal text
    value = Decimal(str(value)) if isinstance(value, float) else Decimal(
        value)
    if not value.is_finite():
        raise ValueError(f"{name} must be finite: {value}")
    return value


def line_changes(current, items):
    """The LineChanges that turn the current lines into items

    current: CurrentLines (one per key); items: the new pricing.LineItems
    (one per key). Changed and added follow the order of items, ended the
    order of current.
    """
    by_key = {}
    for line in current:
        if not line.key or line.key in by_key:
            raise ValueError(f"current lines need distinct keys: {line.key!r}")
        by_key[line.key] = line
    keys = set()
    changed, ended, added = [], [], []
    for item in items:
        if not item.key or item.key in keys:
            raise ValueError(f"line items need distinct keys: {item.key!r}")
        keys.add(item.key)
        line = by_key.get(item.key)
        if line is None:
            added.append(item)
        elif (line.product != item.product
                or _decimal(line.unit_price, 'unit price')
                != _decimal(item.unit_price, 'unit price')):
            ended.append(line)
            added.append(item)
        elif (_decimal(line.quantity, 'quantity')
                != _decimal(item.value, 'value')):
            changed.append((line, _decimal(item.value, 'value')))
    removed = [l for l in current if l.key not in keys]
    ended = removed + [l for l in ended]
    order = {l.key: i for i, l in enumerate(current)}
    ended.sort(key=lambda l: order[l.key])
    return LineChanges(tuple(changed), tuple(ended), tuple(added))
