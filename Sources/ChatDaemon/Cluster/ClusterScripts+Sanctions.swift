/// The script behind every change to a room's bans, mutes and slowmode in a cluster.
extension ClusterScripts {
    /// Applies one `SanctionChange` to the list Redis keeps and publishes the result, in one
    /// atomic step: changes made at the same moment on several nodes are applied one after
    /// the other, each to the other's result, and every node adopts the results in the
    /// channel's order, so none is lost and all nodes end with the same list.
    ///
    /// KEYS: the sanctions key (the last `.sanctions` message, without its purge field),
    /// the history list. ARGV: channel, node, sequence (the published message is this
    /// node's, with this sequence: the node recognises its result by it), the node's clock
    /// (unix seconds: entries expired by then are dropped), `n` if the change applies only
    /// to a room with no list yet (a node's whole list, given to a Redis that lost its own;
    /// otherwise the list is published unchanged), slowmode (`s` to set it, then
    /// its seconds, empty for off), the purge (range text, its network in hex, prefix
    /// length; empty text for none), the count of removals, removals as kind and range
    /// text, then added entries as the message's seven fields each.
    ///
    /// A purge removes from the history list the lines whose speaker (`SECONDS/HEXADDRESS
    /// TEXT`) is inside the range; the hex form makes the range a prefix of digits.
    static let changeSanctions = """
        local function fields(s)
          local out, i = {}, 3
          while i <= #s do
            local colon = string.find(s, ':', i, true)
            if not colon then break end
            local n = tonumber(string.sub(s, i, colon - 1))
            if not n then break end
            out[#out + 1] = string.sub(s, colon + 1, colon + n)
            i = colon + n + 1
          end
          return out
        end
        local function field(s) return #s .. ':' .. s end
        local slowmode, entries = '', {}
        local stored = redis.call('GET', KEYS[1])
        if stored then
          local f = fields(stored)
          slowmode = f[3] or ''
          local first = 4
          if (#f - 4) % 7 == 0 then first = 5 end
          for i = first, #f - 6, 7 do entries[#entries + 1] = {unpack(f, i, i + 6)} end
        end
        -- A list for a room with none, and the room has one: published unchanged.
        local skip = stored and ARGV[5] == 'n'
        local gone, adds = {}, {}
        local removals = tonumber(ARGV[11])
        if not skip then
          for i = 12, 11 + 2 * removals, 2 do gone[ARGV[i] .. ' ' .. ARGV[i + 1]] = true end
          for i = 12 + 2 * removals, #ARGV - 6, 7 do
            gone[ARGV[i] .. ' ' .. ARGV[i + 1]] = true
            adds[#adds + 1] = {unpack(ARGV, i, i + 6)}
          end
        end
        local now, list = tonumber(ARGV[4]), {}
        local function keep(e)
          for j = 1, 7 do list[#list + 1] = field(e[j]) end
        end
        for _, e in ipairs(entries) do
          local expires = tonumber(e[7])
          if not gone[e[1] .. ' ' .. e[2]] and not (expires and expires <= now) then keep(e) end
        end
        for _, e in ipairs(adds) do keep(e) end
        if ARGV[6] == 's' and not skip then slowmode = ARGV[7] end
        local head = '1S' .. field(ARGV[2]) .. field(ARGV[3]) .. field(slowmode)
        local tail = table.concat(list)
        redis.call('SET', KEYS[1], head .. tail)
        local purge = ''
        if ARGV[8] ~= '' then
          purge = field(ARGV[8])
          local net, bits = ARGV[9], tonumber(ARGV[10])
          local whole, rest = math.floor(bits / 4), bits % 4
          local function within(a)
            if #a ~= #net or string.sub(a, 1, whole) ~= string.sub(net, 1, whole) then return false end
            if rest == 0 then return true end
            local d = 2 ^ (4 - rest)
            return math.floor(tonumber(string.sub(a, whole + 1, whole + 1), 16) / d)
              == math.floor(tonumber(string.sub(net, whole + 1, whole + 1), 16) / d)
          end
          local lines, kept = redis.call('LRANGE', KEYS[2], 0, -1), {}
          for _, line in ipairs(lines) do
            local a = string.match(line, '^%d+/(%x+) ')
            if not (a and within(a)) then kept[#kept + 1] = line end
          end
          if #kept < #lines then
            redis.call('DEL', KEYS[2])
            for i = 1, #kept, 1000 do redis.call('RPUSH', KEYS[2], unpack(kept, i, math.min(i + 999, #kept))) end
          end
        end
        redis.call('PUBLISH', ARGV[1], head .. purge .. tail)
        return 1
        """
}
