-- Wireshark dissector for the gittorrent cluster protocol (GTP) v1, docs/protocol.md.
-- Usage: tshark -X lua_script:cluster/wireshark/gtp.lua -r capture.pcap
-- or copy into ~/.local/lib/wireshark/plugins/. All integers are little-endian.
-- Display filter: gittorrent (fields gittorrent.type, gittorrent.hash, ...).
-- A frame that breaks a rule of the protocol is marked with an expert error (malformed).

local gtp = Proto("gittorrent", "gittorrent cluster protocol")

local TYPES = { [1] = "ANNOUNCE", [2] = "WHO_HAS", [3] = "I_HAVE", [4] = "GET", [5] = "DATA",
                [6] = "HAVE", [7] = "NOT_HERE", [8] = "CONTROL", [9] = "SYNC_REQ", [10] = "SYNC_ANS",
                [17] = "UPDATE", [18] = "PIECE", [19] = "PIECE_STATUS", [20] = "PIECE_GET",
                [21] = "PIECE_WHO", [22] = "PIECE_MAP",
                [23] = "GET_DELTA", [24] = "DELTA" }
local DSTATUS = { [0] = "delta", [1] = "full", [2] = "absent" }
local OTYPES = { [1] = "commit", [2] = "tree", [3] = "blob", [4] = "tag" }
local OPS = { [1] = "COMMIT", [2] = "COMMITTED", [3] = "REBOOT", [8] = "POLICY", [9] = "POLICY_SET", [10] = "PROPAGATE" }
local CHUNK_MAX = 1400
local GET_MAX = 89600

local f = {
  magic = ProtoField.uint16("gittorrent.magic", "Magic", base.HEX),
  version = ProtoField.uint8("gittorrent.version", "Version"),
  type = ProtoField.uint8("gittorrent.type", "Type", base.DEC, TYPES),
  flags = ProtoField.uint16("gittorrent.flags", "Flags", base.HEX),
  auth = ProtoField.bool("gittorrent.flags.auth", "AUTH", 16, nil, 0x0001),
  length = ProtoField.uint16("gittorrent.length", "Payload length"),
  sender = ProtoField.uint32("gittorrent.sender", "Sender node"),
  epoch = ProtoField.uint32("gittorrent.epoch", "Epoch"),
  seq = ProtoField.uint32("gittorrent.seq", "Sequence"),
  hash = ProtoField.bytes("gittorrent.hash", "Object hash", base.NONE),
  rev = ProtoField.bytes("gittorrent.rev", "Revision", base.NONE),
  kernel = ProtoField.bytes("gittorrent.kernel", "Kernel commit", base.NONE),
  objects = ProtoField.uint32("gittorrent.objects", "Objects"),
  aflags = ProtoField.uint16("gittorrent.announce_flags", "Announce flags", base.HEX),
  vlen = ProtoField.uint8("gittorrent.vlen", "Version length"),
  ver = ProtoField.string("gittorrent.node_version", "Node version"),
  qid = ProtoField.uint32("gittorrent.qid", "Query id"),
  size = ProtoField.uint64("gittorrent.size", "Object size"),
  otype = ProtoField.uint8("gittorrent.otype", "Object type", base.DEC, OTYPES),
  offset = ProtoField.uint64("gittorrent.offset", "Offset"),
  glength = ProtoField.uint32("gittorrent.get_length", "Length"),
  fid = ProtoField.uint32("gittorrent.fid", "Fetch id"),
  total = ProtoField.uint64("gittorrent.total", "Total"),
  crc = ProtoField.uint32("gittorrent.crc", "Chunk CRC-32", base.HEX),
  chunk = ProtoField.bytes("gittorrent.chunk", "Chunk"),
  op = ProtoField.uint8("gittorrent.op", "Control op", base.DEC, OPS),
  glob = ProtoField.string("gittorrent.glob", "Branch glob"),
  copies = ProtoField.uint8("gittorrent.copies", "Copies (255: all)"),
  blob = ProtoField.bytes("gittorrent.blob", "Policy blob"),
  tree = ProtoField.bytes("gittorrent.tree", "Tree", base.NONE),
  branch = ProtoField.string("gittorrent.branch", "Branch"),
  message = ProtoField.string("gittorrent.message", "Message"),
  commit = ProtoField.bytes("gittorrent.commit", "Commit", base.NONE),
  status = ProtoField.uint8("gittorrent.status", "Status"),
  base = ProtoField.bytes("gittorrent.base", "Delta base", base.NONE),
  dstatus = ProtoField.uint8("gittorrent.delta_status", "Delta status", base.DEC, DSTATUS),
  doffset = ProtoField.uint32("gittorrent.delta_offset", "Delta offset"),
  dtotal = ProtoField.uint32("gittorrent.delta_total", "Delta bytes"),
  hmac = ProtoField.bytes("gittorrent.hmac", "HMAC-SHA1", base.NONE),
  want = ProtoField.bytes("gittorrent.sync.want", "Revision asked", base.NONE),
  have = ProtoField.bytes("gittorrent.sync.have", "Asker's head", base.NONE),
  start = ProtoField.uint32("gittorrent.sync.start", "First entry"),
  stotal = ProtoField.uint32("gittorrent.sync.total", "Entries in the walk"),
  count = ProtoField.uint16("gittorrent.sync.count", "Entries in this frame"),
  ssize = ProtoField.uint32("gittorrent.sync.size", "Commit size"),
  uid = ProtoField.bytes("gittorrent.update", "Update id", base.NONE),
  mtotal = ProtoField.uint32("gittorrent.manifest_total", "Manifest bytes"),
  moffset = ProtoField.uint32("gittorrent.manifest_offset", "Part offset"),
  age = ProtoField.uint32("gittorrent.age", "Age (ms)"),
  part = ProtoField.bytes("gittorrent.manifest_part", "Manifest part"),
  piece = ProtoField.uint32("gittorrent.piece", "Piece"),
  pchunk = ProtoField.uint16("gittorrent.piece_chunk", "Chunk"),
  pflags = ProtoField.uint16("gittorrent.piece_flags", "Piece flags", base.HEX),
  missing = ProtoField.uint64("gittorrent.missing", "Chunk mask", base.HEX),
  pieces = ProtoField.uint16("gittorrent.pieces", "Pieces"),
  held = ProtoField.uint16("gittorrent.held", "Held"),
  bitmap = ProtoField.bytes("gittorrent.bitmap", "Pieces held"),
  pcount = ProtoField.uint8("gittorrent.propagate_count", "Objects"),
}
gtp.fields = f

local e_bad = ProtoExpert.new("gittorrent.malformed", "Malformed GTP frame", expert.group.MALFORMED, expert.severity.ERROR)
gtp.experts = { e_bad }

local function bad(tree, tvb, why)
  tree:add_proto_expert_info(e_bad, why)
end

local FIXED = { [2] = 24, [3] = 36, [4] = 36, [6] = 32, [7] = 24, [9] = 48, [19] = 32, [20] = 32, [21] = 24, [23] = 52 }
local SYNC_PAGE = 56

local function u64(tvb, off)
  return tvb(off, 8):le_uint64()
end

function gtp.dissector(tvb, pinfo, root)
  local n = tvb:len()
  if n < 2 or tvb(0, 2):le_uint() ~= 0x5447 then return 0 end
  pinfo.cols.protocol = "GTP"
  local t = root:add(gtp, tvb(), "gittorrent cluster protocol")
  if n < 20 then bad(t, tvb, "shorter than the 20-byte header"); return n end
  t:add_le(f.magic, tvb(0, 2))
  t:add(f.version, tvb(2, 1))
  local ty = tvb(3, 1):uint()
  t:add(f.type, tvb(3, 1))
  local fl = t:add_le(f.flags, tvb(4, 2))
  fl:add_le(f.auth, tvb(4, 2))
  local flags = tvb(4, 2):le_uint()
  local len = tvb(6, 2):le_uint()
  t:add_le(f.length, tvb(6, 2))
  t:add_le(f.sender, tvb(8, 4))
  t:add_le(f.epoch, tvb(12, 4))
  t:add_le(f.seq, tvb(16, 4))
  local name = TYPES[ty] or ("type " .. ty)
  pinfo.cols.info = string.format("%s from %d seq %d", name, tvb(8, 4):le_uint(), tvb(16, 4):le_uint())
  if tvb(2, 1):uint() ~= 1 then bad(t, tvb, "version is not 1"); return n end
  local auth = bit.band(flags, 1) == 1
  if bit.band(flags, 0xfffe) ~= 0 then bad(t, tvb, "unknown flag bits") end
  if 20 + len + (auth and 20 or 0) ~= n then bad(t, tvb, "length does not match the datagram"); return n end
  if not TYPES[ty] then bad(t, tvb, "unknown type"); return n end
  if auth ~= (ty == 1 or ty == 8 or ty == 9 or ty == 10 or ty == 17) then bad(t, tvb, "AUTH flag wrong for this type") end
  local p = tvb(20, len)
  local pt = t:add(gtp, p, name)
  local function need(exact) if len ~= exact then bad(pt, tvb, name .. " payload must be " .. exact .. " bytes"); return false end return true end
  if FIXED[ty] and not need(FIXED[ty]) then return n end
  if ty == 1 then
    if len < 47 then bad(pt, tvb, "ANNOUNCE shorter than 47 bytes"); return n end
    local vlen = tvb(66, 1):uint()
    if vlen > 32 or len ~= 47 + vlen then bad(pt, tvb, "ANNOUNCE version length"); return n end
    pt:add(f.rev, tvb(20, 20)); pt:add(f.kernel, tvb(40, 20))
    pt:add_le(f.objects, tvb(60, 4)); pt:add_le(f.aflags, tvb(64, 2)); pt:add(f.vlen, tvb(66, 1))
    if vlen > 0 then pt:add(f.ver, tvb(67, vlen)) end
  elseif ty == 2 then
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.qid, tvb(40, 4))
    pinfo.cols.info:append(" " .. tvb(20, 20):bytes():tohex():lower())
  elseif ty == 3 then
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.qid, tvb(40, 4)); pt:add_le(f.size, tvb(44, 8)); pt:add(f.otype, tvb(52, 1))
    if not OTYPES[tvb(52, 1):uint()] then bad(pt, tvb, "object type") end
  elseif ty == 4 then
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.offset, tvb(40, 8)); pt:add_le(f.glength, tvb(48, 4)); pt:add_le(f.fid, tvb(52, 4))
    local gl = tvb(48, 4):le_uint()
    if gl < 1 or gl > GET_MAX then bad(pt, tvb, "GET length out of 1..89600") end
    pinfo.cols.info:append(string.format(" offset %s length %d", tostring(u64(tvb, 40)), gl))
  elseif ty == 5 then
    if len < 48 or len > 48 + CHUNK_MAX then bad(pt, tvb, "DATA size"); return n end
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.fid, tvb(40, 4)); pt:add_le(f.offset, tvb(44, 8)); pt:add_le(f.total, tvb(52, 8))
    pt:add_le(f.crc, tvb(60, 4)); pt:add(f.otype, tvb(64, 1))
    local clen = len - 48
    if clen > 0 then pt:add(f.chunk, tvb(68, clen)) end
    local off = u64(tvb, 44)
    local total = u64(tvb, 52)
    local rest = total - off
    local want = rest
    if rest > UInt64(CHUNK_MAX) then want = UInt64(CHUNK_MAX) end
    if off % CHUNK_MAX ~= UInt64(0) or off > total or UInt64(clen) ~= want or (clen == 0 and total ~= UInt64(0)) then
      bad(pt, tvb, "DATA chunk not at a chunk boundary or of the wrong size")
    end
    pinfo.cols.info:append(string.format(" offset %s of %s", tostring(off), tostring(total)))
  elseif ty == 6 then
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.size, tvb(40, 8)); pt:add(f.otype, tvb(48, 1))
  elseif ty == 7 then
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.fid, tvb(40, 4))
  elseif ty == 23 then
    pt:add(f.hash, tvb(20, 20)); pt:add(f.base, tvb(40, 20)); pt:add_le(f.doffset, tvb(60, 4))
    pt:add_le(f.glength, tvb(64, 4)); pt:add_le(f.fid, tvb(68, 4))
    local gl = tvb(64, 4):le_uint()
    if gl < 1 or gl > GET_MAX then bad(pt, tvb, "GET_DELTA length out of 1..89600") end
    pinfo.cols.info:append(string.format(" offset %d length %d", tvb(60, 4):le_uint(), gl))
  elseif ty == 24 then
    if len < 48 or len > 48 + CHUNK_MAX then bad(pt, tvb, "DELTA size"); return n end
    pt:add(f.hash, tvb(20, 20)); pt:add_le(f.fid, tvb(40, 4)); pt:add(f.dstatus, tvb(44, 1)); pt:add(f.otype, tvb(45, 1))
    pt:add_le(f.doffset, tvb(48, 4)); pt:add_le(f.dtotal, tvb(52, 4)); pt:add_le(f.size, tvb(56, 8)); pt:add_le(f.crc, tvb(64, 4))
    local clen = len - 48
    if clen > 0 then pt:add(f.chunk, tvb(68, clen)) end
    local st = tvb(44, 1):uint()
    local off = tvb(48, 4):le_uint()
    local total = tvb(52, 4):le_uint()
    if st == 0 then
      local want = math.min(CHUNK_MAX, total - off)
      if not OTYPES[tvb(45, 1):uint()] or total == 0 or off % CHUNK_MAX ~= 0 or off >= total or clen ~= want then
        bad(pt, tvb, "DELTA chunk not at a chunk boundary or of the wrong size")
      end
      pinfo.cols.info:append(string.format(" offset %d of %d", off, total))
    elseif st == 1 or st == 2 then
      if off ~= 0 or total ~= 0 or clen ~= 0 then bad(pt, tvb, "a DELTA status carries no chunk") end
      pinfo.cols.info:append(" " .. DSTATUS[st])
    else
      bad(pt, tvb, "DELTA status")
    end
  elseif ty == 8 then
    if len < 4 then bad(pt, tvb, "CONTROL shorter than 4 bytes"); return n end
    local op = tvb(20, 1):uint()
    pt:add(f.op, tvb(20, 1))
    pinfo.cols.info:append(" " .. (OPS[op] or ("op " .. op)))
    if op == 1 then
      if len < 25 then bad(pt, tvb, "COMMIT size"); return n end
      local blen = tvb(44, 1):uint()
      if len < 27 + blen then bad(pt, tvb, "COMMIT size"); return n end
      local mlen = tvb(45 + blen, 2):le_uint()
      if len ~= 27 + blen + mlen then bad(pt, tvb, "COMMIT size"); return n end
      pt:add(f.tree, tvb(24, 20))
      if blen > 0 then pt:add(f.branch, tvb(45, blen)) end
      if mlen > 0 then pt:add(f.message, tvb(47 + blen, mlen)) end
    elseif op == 2 then
      if not need(25) then return n end
      pt:add(f.commit, tvb(24, 20)); pt:add(f.status, tvb(44, 1))
    elseif op == 3 then
      need(4)
    elseif op == 8 then
      if len < 7 then bad(pt, tvb, "POLICY size"); return n end
      local glen = tvb(24, 1):uint()
      if glen < 1 or glen > 63 or len ~= 6 + glen then bad(pt, tvb, "POLICY size"); return n end
      pt:add(f.glob, tvb(25, glen)); pt:add(f.copies, tvb(25 + glen, 1))
    elseif op == 9 then
      if not need(25) then return n end
      pt:add(f.blob, tvb(24, 20)); pt:add(f.status, tvb(44, 1))
    elseif op == 10 then
      local c = tvb(22, 1):uint()
      if c < 1 or c > 64 or len ~= 4 + 20 * c then bad(pt, tvb, "PROPAGATE size"); return n end
      pt:add(f.pcount, tvb(22, 1))
      for i = 0, c - 1 do pt:add(f.hash, tvb(24 + 20 * i, 20)) end
    else
      bad(pt, tvb, "unknown CONTROL op")
    end
  elseif ty == 9 then
    pt:add(f.want, tvb(20, 20)); pt:add(f.have, tvb(40, 20)); pt:add_le(f.start, tvb(60, 4))
    pinfo.cols.info:append(" " .. tvb(20, 20):bytes():tohex():lower() .. " from " .. tvb(60, 4):le_uint())
  elseif ty == 10 then
    if len < 32 then bad(pt, tvb, "SYNC_ANS shorter than 32 bytes"); return n end
    local count = tvb(48, 2):le_uint()
    if count > SYNC_PAGE or len ~= 32 + 24 * count then bad(pt, tvb, "SYNC_ANS size"); return n end
    pt:add(f.want, tvb(20, 20)); pt:add_le(f.start, tvb(40, 4)); pt:add_le(f.stotal, tvb(44, 4)); pt:add_le(f.count, tvb(48, 2))
    for i = 0, count - 1 do
      pt:add(f.commit, tvb(52 + 24 * i, 20)); pt:add_le(f.ssize, tvb(72 + 24 * i, 4))
    end
    pinfo.cols.info:append(string.format(" %d of %d from %d", count, tvb(44, 4):le_uint(), tvb(40, 4):le_uint()))
  end
  if ty >= 17 and ty <= 22 then
    if len < 24 then bad(pt, tvb, name .. " shorter than 24 bytes"); return n end
    pt:add(f.uid, tvb(20, 20))
    if ty == 17 then
      if len <= 32 then bad(pt, tvb, "UPDATE without manifest bytes"); return n end
      pt:add_le(f.mtotal, tvb(40, 4)); pt:add_le(f.moffset, tvb(44, 4)); pt:add_le(f.age, tvb(48, 4)); pt:add(f.part, tvb(52, len - 32))
      local total, off = tvb(40, 4):le_uint(), tvb(44, 4):le_uint()
      if off % 1024 ~= 0 or off >= total or len - 32 ~= math.min(1024, total - off) then bad(pt, tvb, "UPDATE part does not fit the manifest") end
    elseif ty == 18 then
      if len <= 28 or len > 28 + CHUNK_MAX then bad(pt, tvb, "PIECE size"); return n end
      pt:add_le(f.piece, tvb(40, 4)); pt:add_le(f.pchunk, tvb(44, 2)); pt:add_le(f.pflags, tvb(46, 2)); pt:add(f.chunk, tvb(48, len - 28))
      pinfo.cols.info:append(string.format(" piece %d chunk %d", tvb(40, 4):le_uint(), tvb(44, 2):le_uint()))
    elseif ty == 19 or ty == 20 then
      pt:add_le(f.piece, tvb(40, 4)); pt:add_le(f.missing, tvb(44, 8))
    elseif ty == 21 then
      pt:add_le(f.qid, tvb(40, 4))
    elseif ty == 22 then
      local np = tvb(40, 2):le_uint()
      if len ~= 24 + math.ceil(np / 8) or np < 1 then bad(pt, tvb, "PIECE_MAP size"); return n end
      pt:add_le(f.pieces, tvb(40, 2)); pt:add_le(f.held, tvb(42, 2)); pt:add(f.bitmap, tvb(44, len - 24))
    end
  end
  if auth then t:add(f.hmac, tvb(20 + len, 20)) end
  return n
end

DissectorTable.get("udp.port"):add(7184, gtp)
