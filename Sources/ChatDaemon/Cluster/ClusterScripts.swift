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
/// - `chatroomd:{lobby}:history`: list of kept lines (`UNIXSECONDS TEXT`), the last
///   `history-lines` of them (trimmed every 32 lines), pushed right after their `PUBLISH`;
/// - `chatroomd:{lobby}:sanctions`, `chatroomd:{lobby}:topic`: the last `sanctions` and
///   `topic` messages published, for a node that links later.
///
/// Keys are passed as arguments rather than KEYS: they are derived inside the scripts from
/// the room's prefix, all within the room's hash slot.
enum ClusterScripts {
    /// A message that is also state. ARGV: channel, message, mode, key, value, limit. Mode
    /// `h`: the value is pushed on the list `key`, trimmed to `limit`; `s`: `key` is set to
    /// the message. In one script, so the stored order is the channel's.
    static let publishKeeping = """
        redis.call('PUBLISH', ARGV[1], ARGV[2])
        if ARGV[3] == 'h' then
          redis.call('RPUSH', ARGV[4], ARGV[5])
          redis.call('LTRIM', ARGV[4], -tonumber(ARGV[6]), -1)
        elseif ARGV[3] == 's' then
          redis.call('SET', ARGV[4], ARGV[2])
        end
        return 1
        """

    /// ARGV: full nick key, node, the node's hash, nickname. 1 if claimed (or already this
    /// node's: a `/nick` that changes only the case, or a claim repeated after a rename
    /// while the link was being made; the hash then takes the new spelling), 0 if another
    /// node holds it.
    static let claim = """
        if redis.call('SET', ARGV[1], ARGV[2], 'NX') or redis.call('GET', ARGV[1]) == ARGV[2] then
          redis.call('HSET', ARGV[3], ARGV[1], ARGV[4])
          return 1
        end
        return 0
        """

    /// ARGV: full nick key, node, the node's hash.
    static let release = """
        if redis.call('GET', ARGV[1]) == ARGV[2] then redis.call('DEL', ARGV[1]) end
        redis.call('HDEL', ARGV[3], ARGV[1])
        return 1
        """

    /// Announces a dead node's members and frees their nicknames (Lua helper, shared).
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

    /// Every second, from every linked node. ARGV: prefix, node, lease in ms. Renews the
    /// node's lease and reaps every node whose lease ran out. -1 if this node was itself
    /// reaped (it must link again), else how many nodes it reaped.
    static let tick = reap + "\n" + """
        local p, node = ARGV[1], ARGV[2]
        if redis.call('SISMEMBER', p .. 'nodes', node) == 0 then return -1 end
        redis.call('SET', p .. 'lease:' .. node, '1', 'PX', ARGV[3])
        local reaped = 0
        for _, n in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
          if n ~= node and redis.call('EXISTS', p .. 'lease:' .. n) == 0 then
            reap(p, n)
            reaped = reaped + 1
          end
        end
        return reaped
        """

    /// A graceful stop. ARGV: prefix, node. The others announce its members at once.
    static let leave = reap + "\nreap(ARGV[1], ARGV[2]) return 1"

    /// Linking (at start and after every split). ARGV: prefix, node, lease in ms, link
    /// attempt, then
    /// pairs of full nick key and nickname for this node's members. Frees what this node
    /// held for members who are gone, claims each member's nickname (kept if it is still
    /// this node's, lost if another node took it meanwhile), takes the lease. Returns
    /// {claims (1 kept or claimed, 0 lost, in argument order), the other nodes' members as
    /// node, nick pairs, nicknames this node held for members no longer here}.
    static let link = """
        local p, node = ARGV[1], ARGV[2]
        local mine = p .. 'nicks:' .. node
        local wanted = {}
        for i = 5, #ARGV, 2 do wanted[ARGV[i]] = true end
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
        for i = 5, #ARGV, 2 do
          local owner = redis.call('GET', ARGV[i])
          if not owner then
            redis.call('SET', ARGV[i], node)
            owner = node
          end
          if owner == node then
            redis.call('HSET', mine, ARGV[i], ARGV[i + 1])
            claims[#claims + 1] = 1
          else
            claims[#claims + 1] = 0
          end
        end
        redis.call('SET', p .. 'lease:' .. node, '1', 'PX', ARGV[3])
        redis.call('SADD', p .. 'nodes', node)
        local roster = {}
        for _, n in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
          if n ~= node then
            for _, nick in ipairs(redis.call('HVALS', p .. 'nicks:' .. n)) do
              roster[#roster + 1] = n
              roster[#roster + 1] = nick
            end
          end
        end
        redis.call('PUBLISH', p .. 'channel', '1N' .. #node .. ':' .. node .. #ARGV[4] .. ':' .. ARGV[4])
        return {claims, roster, departed, redis.call('LRANGE', p .. 'history', 0, -1),
                redis.call('GET', p .. 'sanctions') or '', redis.call('GET', p .. 'topic') or ''}
        """
}
