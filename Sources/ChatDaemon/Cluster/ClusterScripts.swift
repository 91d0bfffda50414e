/// The Lua scripts the nodes run on Redis. Each runs atomically (Redis runs one script at
/// a time), which is what makes a claim, a node's link and the reaping of a dead node
/// come out the same for every node. Key layout, for room `lobby` (`{lobby}` is a Redis
/// Cluster hash tag: every key of one room lives in one slot, so rooms can be spread over
/// shards):
///
/// - `chatroomd:{lobby}:channel`: the pub/sub channel of `ClusterMessage`s;
/// - `chatroomd:{lobby}:nodes`: set of live node names;
/// - `chatroomd:{lobby}:lease:NODE`: exists while NODE is alive (PX, renewed every second);
/// - `chatroomd:{lobby}:nicks:NODE`: hash, nickname key → nickname, of NODE's members;
/// - `chatroomd:{lobby}:nick:KEY`: the node holding nickname KEY (the claim itself);
/// - `chatroomd:{lobby}:history`: list of kept lines (`UNIXSECONDS/SPEAKERHEX TEXT`), the
///   last `history-lines` of them (trimmed every 32 lines), pushed right after their
///   `PUBLISH`;
/// - `chatroomd:{lobby}:sanctions`: the room's bans, mutes and slowmode, as the last
///   `sanctions` message (`changeSanctions` applies each change to it);
/// - `chatroomd:{lobby}:topic`: the last `topic` message published.
///
/// Every key a script knows before it runs is passed in KEYS, as Redis' scripting rules
/// ask (so a proxy or Redis Cluster can route the call by them). Some keys can only be
/// known inside a script: another node's lease and members hash (from the `nodes` set)
/// and a departed member's claim (a field of a members hash). Those are built from the
/// room's prefix (ARGV) and share the room's `{lobby}` hash tag, so they live in the same
/// slot as the declared keys: allowed for scripts without flags, even in Redis Cluster
/// (which this daemon does not otherwise support: no `MOVED` handling).
enum ClusterScripts {
    /// A message that is also state. KEYS: the key. ARGV: channel, message, mode, value,
    /// limit. Mode `h`: the value is pushed on the list, trimmed to `limit`; `s`: the key
    /// is set to the message. In one script, so the stored order is the channel's.
    static let publishKeeping = """
        redis.call('PUBLISH', ARGV[1], ARGV[2])
        if ARGV[3] == 'h' then
          redis.call('RPUSH', KEYS[1], ARGV[4])
          redis.call('LTRIM', KEYS[1], -tonumber(ARGV[5]), -1)
        elseif ARGV[3] == 's' then
          redis.call('SET', KEYS[1], ARGV[2])
        end
        return 1
        """

    /// KEYS: the nick key, the node's hash. ARGV: node, nickname. 1 if claimed (or already this
    /// node's: a `/nick` that changes only the case, or a claim repeated after a rename
    /// while the link was being made; the hash then takes the new spelling), 0 if another
    /// node holds it.
    static let claim = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX') or redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('HSET', KEYS[2], KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """

    /// KEYS: the nick key, the node's hash. ARGV: node.
    static let release = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        redis.call('HDEL', KEYS[2], KEYS[1])
        return 1
        """

    /// Announces a dead node's members and frees their nicknames (Lua helper, shared). Its
    /// keys are another node's, known only here (see the top).
    private static let reap = """
        local function reap(p, n)
          local h = redis.call('HGETALL', p .. 'nicks:' .. n)
          local msg = {'1G', #n .. ':' .. n, '1:0'}
          for i = 1, #h, 2 do
            if redis.call('GET', h[i]) == n then redis.call('DEL', h[i]) end
            msg[#msg + 1] = #h[i + 1] .. ':' .. h[i + 1]
          end
          redis.call('DEL', p .. 'nicks:' .. n, p .. 'lease:' .. n)
          redis.call('SREM', p .. 'nodes', n)
          redis.call('PUBLISH', p .. 'channel', table.concat(msg))
        end
        """

    /// Every second, from every linked node. KEYS: the nodes set, the node's lease. ARGV:
    /// prefix, node, lease in ms. Renews the node's lease and reaps every node whose lease
    /// ran out. -1 if this node was itself reaped (it must link again), else how many nodes
    /// it reaped.
    static let tick = reap + "\n" + """
        local p, node = ARGV[1], ARGV[2]
        if redis.call('SISMEMBER', KEYS[1], node) == 0 then return -1 end
        redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
        local reaped = 0
        for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          if n ~= node and redis.call('EXISTS', p .. 'lease:' .. n) == 0 then
            reap(p, n)
            reaped = reaped + 1
          end
        end
        return reaped
        """

    /// A graceful stop. KEYS: the nodes set, the node's hash, the node's lease (the keys
    /// `reap` builds for it). ARGV: prefix, node. The others announce its members at once.
    static let leave = reap + "\nreap(ARGV[1], ARGV[2]) return 1"

    /// Linking (at start and after every split). KEYS: the node's hash, the node's lease,
    /// the nodes set, the history, the sanctions, the topic, then the nick key of each of
    /// this node's members. ARGV: prefix, node, lease in ms, link attempt, channel, then
    /// each member's nickname (in the order of their keys). Frees what this node
    /// held for members who are gone, claims each member's nickname (kept if it is still
    /// this node's, lost if another node took it meanwhile), takes the lease. Returns
    /// {claims (1 kept or claimed, 0 lost, in argument order), the other nodes' members as
    /// node, nick pairs, nicknames this node held for members no longer here}.
    static let link = """
        local p, node = ARGV[1], ARGV[2]
        local mine = KEYS[1]
        local wanted = {}
        for i = 7, #KEYS do wanted[KEYS[i]] = true end
        local departed = {}
        local held = redis.call('HGETALL', mine)
        for i = 1, #held, 2 do
          if not wanted[held[i]] then
            if redis.call('GET', held[i]) == node then redis.call('DEL', held[i]) end
            redis.call('HDEL', mine, held[i])
            departed[#departed + 1] = held[i + 1]
          end
        end
        local claims = {}
        for i = 7, #KEYS do
          local owner = redis.call('GET', KEYS[i])
          if not owner then
            redis.call('SET', KEYS[i], node)
            owner = node
          end
          if owner == node then
            redis.call('HSET', mine, KEYS[i], ARGV[i - 1])
            claims[#claims + 1] = 1
          else
            claims[#claims + 1] = 0
          end
        end
        redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
        redis.call('SADD', KEYS[3], node)
        local roster = {}
        for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
          if n ~= node then
            for _, nick in ipairs(redis.call('HVALS', p .. 'nicks:' .. n)) do
              roster[#roster + 1] = n
              roster[#roster + 1] = nick
            end
          end
        end
        redis.call('PUBLISH', ARGV[5], '1N' .. #node .. ':' .. node .. #ARGV[4] .. ':' .. ARGV[4])
        return {claims, roster, departed, redis.call('LRANGE', KEYS[4], 0, -1),
                redis.call('GET', KEYS[5]) or '', redis.call('GET', KEYS[6]) or ''}
        """
}
