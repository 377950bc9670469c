/// A map of at most `capacity` entries that forgets the least recently used one to make room for a new one.
///
/// `value(forKey:)` and `insert(_:forKey:)` are O(1): the entries live in a doubly linked list threaded through
/// an array (most recently used at the head), with a dictionary from key to the entry's slot. A read or a write of
/// a key makes it the most recently used. A capacity of 0 keeps nothing.
///
/// A value type without a lock: its owner guards it (`ZeroShotClassifier` under its cache lock).
public struct LRUCache<Key: Hashable, Value> {
    fileprivate struct Node {
        var key: Key
        var value: Value
        var previous: Int
        var next: Int
    }

    /// The most entries kept (0: none).
    public let capacity: Int
    private var slots: [Key: Int] = [:]
    private var nodes: [Node] = []
    /// Slot of the most recently used entry, of the least recently used one (-1 when empty).
    private var head = -1
    private var tail = -1

    /// An empty cache holding at most `capacity` entries (a negative capacity is taken as 0).
    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Entries held now (at most `capacity`).
    public var count: Int { slots.count }

    /// The value for `key`, made the most recently used; nil when it is not held.
    public mutating func value(forKey key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        moveToFront(slot)
        return nodes[slot].value
    }

    /// Whether `key` is held (without changing the order of use).
    public func contains(_ key: Key) -> Bool { slots[key] != nil }

    /// Stores `value` for `key` as the most recently used entry, replacing the value a held key had; when the cache
    /// is full, the least recently used entry is dropped first. Returns the key dropped, if any.
    @discardableResult
    public mutating func insert(_ value: Value, forKey key: Key) -> Key? {
        guard capacity > 0 else { return nil }
        if let slot = slots[key] {
            nodes[slot].value = value
            moveToFront(slot)
            return nil
        }
        if slots.count < capacity {
            nodes.append(Node(key: key, value: value, previous: -1, next: -1))
            let slot = nodes.count - 1
            slots[key] = slot
            linkAtFront(slot)
            return nil
        }
        // Reuse the least recently used entry's slot for the new one.
        let slot = tail
        let evicted = nodes[slot].key
        unlink(slot)
        slots[evicted] = nil
        nodes[slot].key = key
        nodes[slot].value = value
        slots[key] = slot
        linkAtFront(slot)
        return evicted
    }

    /// Stores `value` for `key` unless the key is held already, in which case the held value stays; either way the
    /// key becomes the most recently used.
    public mutating func insertIfAbsent(_ value: Value, forKey key: Key) {
        if let slot = slots[key] {
            moveToFront(slot)
        } else {
            insert(value, forKey: key)
        }
    }

    /// Drops every entry.
    public mutating func removeAll() {
        slots = [:]
        nodes = []
        head = -1
        tail = -1
    }

    /// The keys from the most to the least recently used.
    public var keysByRecency: [Key] {
        var keys: [Key] = []
        keys.reserveCapacity(slots.count)
        var slot = head
        while slot >= 0 {
            keys.append(nodes[slot].key)
            slot = nodes[slot].next
        }
        return keys
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != head else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let previous = nodes[slot].previous, next = nodes[slot].next
        if previous >= 0 { nodes[previous].next = next } else { head = next }
        if next >= 0 { nodes[next].previous = previous } else { tail = previous }
        nodes[slot].previous = -1
        nodes[slot].next = -1
    }

    private mutating func linkAtFront(_ slot: Int) {
        nodes[slot].previous = -1
        nodes[slot].next = head
        if head >= 0 { nodes[head].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Node: Sendable where Key: Sendable, Value: Sendable {}
