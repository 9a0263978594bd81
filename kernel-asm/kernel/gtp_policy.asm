; gtp_policy.asm -- data by policy (docs/protocol.md, "Placement"): the replication policy of
; the cluster configuration ref `config/policy` (lines `<branch-glob> all|copies=K`, first match
; wins; absent: `kernel all`, `* copies=3`), rendezvous hashing (HRW) of each blob over the live
; nodes, the placement loop of the main loop (a node fetches the blobs placed on it that it has
; only as referrals, and demotes to referrals the copies it stores that the policy places
; elsewhere, once their holders confirm them; one fetch or confirmation per turn, so `ready` and
; the shell never wait on it), transparent reads of referral-only files (`cat`, `sha1`: fetched
; from a holder, verified, served, not kept) and the shell's `placed`.
;
; HRW: weight(hash, node) = the first 8 bytes (a little-endian u64) of SHA-1(hash ‖ u32le node);
; an object with k copies is placed on the k live nodes of highest weight (ties: the lower node
; number). Live: this node and the peers heard in the last 10 s, never the host peer.
; Which blobs: those the head commits of the branches name (their trees, recursively), with
; the branch's policy; boot refs' commits are `all` (every node boots its own kernel); a
; symbolic ref takes the rule of its name. A blob named by several refs takes the most copies.
; The marks (copies wanted, one byte per index position) are recomputed when the mainline head
; (every ref change moves it) or the index count changes; the placement pass runs again when
; the live set changes, and again while a fetch of it failed: after POL_RETRY_TICKS, then twice
; as long after each pass that failed again, up to POL_RETRY_MAX_TICKS (a blob whose holders
; all serve bytes that do not hash is not asked for every 2 s forever); a pass that fetched
; everything, new marks or a new live set start again from POL_RETRY_TICKS.
; Demotion (surplus copies become referrals): a pass first looks for the bases of the deltas
; this node stores (never demoted: the delta would no longer read), then, with the fetches, for
; blobs stored here whose mark is copies=k (never `all`, so never what a boot ref names) that
; HRW does not place here (not the blob config/policy names: a node that has the rules keeps
; them; and not while that blob is unread, as the marks may be the defaults'; not the last
; POL_PINS_MAX objects the shell's `fetch` asked for or a propagation stored: pol_pin, until a
; restart). Such a copy is
; given up only after each of its k HRW nodes answered one WHO_HAS round with I_HAVE (only a
; node that stores an object sends that; the holder cache is not trusted for it, as fetches
; seed it with guesses): only nodes outside the top k demote, and only after the top k
; confirmed, so demotion never takes an object below k stored copies on a live set the nodes
; agree on. A node that leaves a confirmation unanswered is not asked about again in that pass
; (it is still fetching, or gone: a killed node never confirms, so nothing it held is given up
; while it is out). Confirmed demotions are written POL_DEMOTE_MAX at a time in one GitFS
; transaction (gitfs_tx_demote: a referral record naming the confirmed holders `node-N`, the
; index entry switched to it), at the end of the pass or POL_BATCH_TICKS after the first; a
; new live set or new marks drop the staged ones. A pass that left a surplus copy unconfirmed
; runs again after POL_RETRY_TICKS, doubled per such pass up to POL_CONFIRM_MAX_TICKS.

POL_MARKS_MAX       equ 131072          ; index entries the placement covers
POL_SCAN_STEP       equ 64              ; index entries looked at per main-loop turn
POL_RULES_MAX       equ 16
POL_GLOB_MAX        equ 63
POL_ALL             equ 255             ; a mark: every live node
POL_DEFAULT_COPIES  equ 3
POL_COPIES_MAX      equ 254
POL_SETTLE_TICKS    equ 5000            ; after boot: two ANNOUNCE rounds heard before placing
POL_RECHECK_TICKS   equ 500             ; idle: how often the triggers are looked at
POL_STABLE_TICKS    equ 1500            ; a new live set is used once it held still this long
POL_RETRY_TICKS     equ 2000            ; a pass with a failed fetch runs again after this,
POL_RETRY_MAX_TICKS equ 64000           ; doubled per failed pass up to this
POL_TREES_MAX       equ 2048            ; trees waiting in a mark walk
POL_LIVE_MAX        equ GTP_PEERS + 1
POL_CONFIG_MAX      equ 8192            ; bytes of config/policy parsed
POL_BATCH_MAX       equ 64              ; fetched blobs stored in one GitFS transaction
POL_BATCH_TICKS     equ 2000            ; a batch is stored at the latest this long after its first
POL_BATCH_BYTES     equ 0x100000        ; and at most this many bytes of them (larger: alone)
POL_DEMOTE_MAX      equ 128             ; demotions written in one GitFS transaction
POL_PINS_MAX        equ 64              ; objects `fetch` asked for or a propagation stored, never demoted (this boot)
POL_CONFIRM_MS      equ 200             ; how long a confirmation's WHO_HAS round listens
POL_CONFIRM_MAX_TICKS equ 8000          ; an unconfirmed pass runs again after at most this

struc pol_staged
  .hash             resb HASH_SIZE
  .type             resb 1
  .pad              resb 3
  .size             resq 1
  .offset           resq 1              ; in pol_batch
endstruc

struc pol_demote
  .hash             resb HASH_SIZE
  .type             resb 1
  .count            resb 1              ; holders (1..GTP_HOLDERS_MAX)
  .pad              resb 2
  .size             resq 1
  .nodes            resd GTP_HOLDERS_MAX
endstruc

struc pol_rule
  .glob             resb POL_GLOB_MAX + 1
  .copies           resb 1              ; 1..POL_COPIES_MAX, or POL_ALL
  .pad              resb 7
endstruc

; ---------------------------------------------------------------------------------------------
; pol_weight -- The HRW weight of (hash, node).
;  IN:  RSI = 20-byte hash, EAX = node number
;  OUT: RAX = weight
;  CLOBBERS: RCX, RDX, RDI
pol_weight:
	push rsi
	mov [pol_wbuf + HASH_SIZE], eax
	mov rdi, pol_wbuf
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, pol_wbuf
	mov ecx, HASH_SIZE + 4
	mov rdx, pol_wdigest
	call sha1_buffer
	mov rax, [pol_wdigest]
	pop rsi
	ret

; ---------------------------------------------------------------------------------------------
; pol_live_compute -- The live set: this node, then every peer heard in the last 10 s (not the
; host peer), in peer-table order (stable while the membership is). A change also sets
; pol_live_moved, which only the placement loop clears: a `placed` or a transparent read that
; computes the set first does not hide the change from the loop (it would never place again).
;  IN:  nothing
;  OUT: pol_live, pol_live_n; AL = 1 when it differs from the previous result, else 0;
;       pol_live_moved = 1 on a change
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
pol_live_compute:
	mov eax, [net_node]
	mov [pol_live_new], eax
	mov edx, 1
	xor ebx, ebx
.scan:
	mov eax, [gtp_peers + rbx + gtp_peer.node]
	test eax, eax
	jz .next
	cmp eax, GTP_HOST_NODE
	je .next
	cmp qword [gtp_peers + rbx + gtp_peer.heard], 0
	je .next
	mov rcx, [ticks]
	sub rcx, [gtp_peers + rbx + gtp_peer.heard]
	cmp rcx, GTP_STALE_TICKS
	jae .next
	mov [pol_live_new + rdx * 4], eax
	inc edx
.next:
	add ebx, gtp_peer_size
	cmp ebx, GTP_PEERS * gtp_peer_size
	jb .scan
	xor eax, eax
	cmp edx, [pol_live_n]
	jne .changed
	mov rsi, pol_live_new
	mov rdi, pol_live
	mov ecx, edx
	repe cmpsd
	je .out
.changed:
	mov [pol_live_n], edx
	mov rsi, pol_live_new
	mov rdi, pol_live
	mov ecx, edx
	rep movsd
	mov byte [pol_live_moved], 1
	mov eax, 1
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_is_live -- Is a node in the live set (pol_live_compute's last result)?
;  IN:  EAX = node
;  OUT: CF = 0 live; CF = 1 not
;  CLOBBERS: RCX
pol_is_live:
	xor ecx, ecx
.scan:
	cmp ecx, [pol_live_n]
	jae .no
	cmp [pol_live + rcx * 4], eax
	je .yes
	inc ecx
	jmp .scan
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_placed_here -- Does HRW place an object on this node (among the live set)?
;  IN:  RSI = 20-byte hash, AL = copies (POL_ALL: every node)
;  OUT: CF = 0 placed here; CF = 1 not
;  CLOBBERS: RAX, RCX, RDX, RDI, R8-R10
pol_placed_here:
	cmp al, POL_ALL
	je .yes
	movzx r10d, al                      ; k
	mov eax, [net_node]
	call pol_weight
	mov r8, rax                         ; this node's weight
	xor r9d, r9d                        ; live nodes ranked above it
	xor edx, edx
.scan:
	cmp edx, [pol_live_n]
	jae .done
	mov eax, [pol_live + rdx * 4]
	cmp eax, [net_node]
	je .next
	push rdx
	push rax
	call pol_weight
	pop rcx                             ; the node
	pop rdx
	cmp rax, r8
	ja .above
	jb .next
	cmp ecx, [net_node]                 ; a tie: the lower node number ranks first
	ja .next
.above:
	inc r9d
	cmp r9d, r10d
	jae .no
.next:
	inc edx
	jmp .scan
.done:
	cmp r9d, r10d
	jae .no
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_glob -- Matches a name against a glob (`*`: any run of bytes, `/` included).
;  IN:  RSI = name, RDI = pattern (both zero-terminated)
;  OUT: CF = 0 match; CF = 1 no match
;  CLOBBERS: RAX, RDX, RSI, RDI, R8, R9
pol_glob:
	xor r8d, r8d                        ; after the last '*' in the pattern (0: none yet)
	xor r9d, r9d                        ; the name position that star matched up to
.loop:
	mov al, [rsi]
	test al, al
	jz .tail
	mov dl, [rdi]
	cmp dl, '*'
	jne .literal
	inc rdi
	mov r8, rdi
	mov r9, rsi
	jmp .loop
.literal:
	test dl, dl
	jz .backtrack
	cmp dl, al
	jne .backtrack
	inc rsi
	inc rdi
	jmp .loop
.backtrack:
	test r8, r8
	jz .no
	mov rdi, r8
	inc r9
	mov rsi, r9
	jmp .loop
.tail:
	cmp byte [rdi], '*'
	jne .end
	inc rdi
	jmp .tail
.end:
	cmp byte [rdi], 0
	jne .no
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_copies_for -- The policy of a ref name: the first rule whose glob matches (none:
; POL_DEFAULT_COPIES).
;  IN:  RSI = zero-terminated name
;  OUT: AL = copies (POL_ALL: all)
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8, R9
pol_copies_for:
	xor ebx, ebx
.rule:
	cmp ebx, [pol_rule_n]
	jae .default
	push rsi
	imul rdi, rbx, pol_rule_size
	add rdi, pol_rules + pol_rule.glob
	call pol_glob
	pop rsi
	jnc .hit
	inc ebx
	jmp .rule
.hit:
	imul rdi, rbx, pol_rule_size
	mov al, [pol_rules + rdi + pol_rule.copies]
	ret
.default:
	mov al, POL_DEFAULT_COPIES
	ret

; ---------------------------------------------------------------------------------------------
; pol_load_config -- The rules: from the blob `config/policy` names (read locally, or fetched
; from a holder when this node has only its referral), else the defaults. A line is
; `<glob> all` or `<glob> copies=K` (K 1..254; spaces or tabs between; `#` starts a comment
; line); a malformed line is skipped and counted (pol_config_bad).
;  IN:  the arena released past what the caller keeps
;  OUT: pol_rules, pol_rule_n, pol_config_state (0 defaults, 1 from the ref), pol_config_bad;
;       pol_cfg_named = 1 and pol_cfg_hash when the ref names a blob (read or not)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_load_config:
	mov dword [pol_rule_n], 0
	mov dword [pol_config_bad], 0
	mov byte [pol_config_state], 0
	mov byte [pol_cfg_named], 0
	mov rsi, str_pol_config_ref
	mov ecx, str_pol_config_ref_len
	call gitfs_ref_find
	jc .defaults
	lea rsi, [rdi + gitfs_ref.target]
	call gitfs_is_zero20
	jz .defaults
	mov rdi, pol_cfg_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [pol_cfg_named], 1
	mov rsi, pol_cfg_hash
	call gitfs_read_object
	jnc .have
	cmp byte [gitfs_error], GITFS_E_REFERRAL
	jne .defaults
	mov rsi, pol_cfg_hash
	call pol_read_remote
	jc .defaults
.have:
	cmp dl, OBJ_BLOB
	jne .defaults
	mov byte [pol_config_state], 1
	cmp rcx, POL_CONFIG_MAX
	jbe .sized
	mov ecx, POL_CONFIG_MAX
.sized:
	mov rsi, rax
	lea r15, [rax + rcx]                ; end
.line:
	cmp rsi, r15
	jae .out
	call pol_skip_blanks
	cmp rsi, r15
	jae .out
	mov al, [rsi]
	cmp al, 10
	je .eol
	cmp al, '#'
	je .skip_line
	; the glob: up to a blank
	cmp dword [pol_rule_n], POL_RULES_MAX
	jae .bad_line
	mov edi, [pol_rule_n]
	imul rdi, rdi, pol_rule_size
	add rdi, pol_rules
	mov r12, rdi                        ; the rule
	xor ecx, ecx
.glob:
	cmp rsi, r15
	jae .bad_line
	mov al, [rsi]
	cmp al, ' '
	je .glob_done
	cmp al, 9
	je .glob_done
	cmp al, 10
	je .bad_line
	cmp ecx, POL_GLOB_MAX
	jae .bad_line
	mov [r12 + rcx], al
	inc ecx
	inc rsi
	jmp .glob
.glob_done:
	mov byte [r12 + rcx], 0
	call pol_skip_blanks
	; all | copies=K
	lea rax, [rsi + 3]
	cmp rax, r15
	ja .bad_line
	cmp word [rsi], 'al'
	jne .copies
	cmp byte [rsi + 2], 'l'
	jne .copies
	add rsi, 3
	mov byte [r12 + pol_rule.copies], POL_ALL
	jmp .rest
.copies:
	lea rax, [rsi + 8]
	cmp rax, r15
	ja .bad_line
	mov rax, 'copies=K'
	mov rdx, [rsi]
	shl rax, 8                          ; compare the first 7 bytes: "copies="
	shl rdx, 8
	cmp rax, rdx
	jne .bad_line
	add rsi, 7
	xor eax, eax
	xor ecx, ecx                        ; digits
.digit:
	cmp rsi, r15
	jae .digits_done
	movzx edx, byte [rsi]
	sub edx, '0'
	cmp edx, 9
	ja .digits_done
	imul eax, eax, 10
	add eax, edx
	inc rsi
	inc ecx
	cmp ecx, 4
	ja .bad_line
	jmp .digit
.digits_done:
	test ecx, ecx
	jz .bad_line
	test eax, eax
	jz .bad_line
	cmp eax, POL_COPIES_MAX
	ja .bad_line
	mov [r12 + pol_rule.copies], al
.rest:
	call pol_skip_blanks
	cmp rsi, r15
	jae .accept
	cmp byte [rsi], 10
	jne .bad_line
.accept:
	inc dword [pol_rule_n]
	jmp .skip_line
.bad_line:
	inc dword [pol_config_bad]
.skip_line:
	cmp rsi, r15
	jae .out
	cmp byte [rsi], 10
	je .eol
	inc rsi
	jmp .skip_line
.eol:
	inc rsi
	jmp .line
.out:
	ret
.defaults:
	mov byte [pol_config_state], 0
	mov rsi, pol_default_rules
	mov rdi, pol_rules
	mov ecx, 2 * pol_rule_size
	rep movsb
	mov dword [pol_rule_n], 2
	ret

; pol_skip_blanks -- (internal) RSI past spaces and tabs, not past R15.  CLOBBERS: nothing
pol_skip_blanks:
	cmp rsi, r15
	jae .out
	cmp byte [rsi], ' '
	je .skip
	cmp byte [rsi], 9
	jne .out
.skip:
	inc rsi
	jmp pol_skip_blanks
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_mark -- The copies each blob wants, one byte per index position (0: named by no ref):
; loads the rules, then walks the head tree of every branch (its rule), boot ref (all) and
; symbolic ref (its name's rule). A tree that cannot be read is skipped (counted).
;  IN:  GitFS mounted
;  OUT: pol_marks[0 .. index count), pol_mark_count, pol_mark_rev; pol_mark_errors
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_mark:
	call gitfs_mark
	mov [pol_arena], rax
	call pol_load_config
	mov rax, [pol_arena]
	call gitfs_release
	mov qword [pol_mark_errors], 0
	mov rbx, [gitfs_sb_ptr]
	mov eax, [rbx + gitfs_sb.index_count]
	mov [pol_mark_count], rax
	lea rsi, [rbx + SB_HDR_SIZE + gitfs_ref.target]
	mov rdi, pol_mark_rev
	mov ecx, HASH_SIZE
	rep movsb
	mov rdi, pol_marks
	mov rcx, [pol_mark_count]
	cmp rcx, POL_MARKS_MAX
	jbe .clear
	mov ecx, POL_MARKS_MAX
.clear:
	xor eax, eax
	rep stosb
	mov qword [pol_slot], 1             ; slot 0 is mainline
.slot:
	cmp qword [pol_slot], REF_SLOTS
	jae .done
	mov rbx, [gitfs_sb_ptr]             ; (a transparent read may have moved it)
	imul rax, [pol_slot], REF_SLOT_SIZE
	lea rbx, [rbx + SB_HDR_SIZE + rax]
	mov al, [rbx + gitfs_ref.kind]
	cmp al, REF_KIND_BRANCH
	je .named
	cmp al, REF_KIND_SYMBOLIC
	je .named
	cmp al, REF_KIND_BOOT
	jne .next
	mov byte [pol_k], POL_ALL
	jmp .target
.named:
	mov rsi, rbx
	mov rdi, pol_name
	mov ecx, REF_NAME_MAX
	rep movsb
	mov byte [rdi], 0
	push rbx
	mov rsi, pol_name
	call pol_copies_for
	pop rbx
	mov [pol_k], al
.target:
	lea rsi, [rbx + gitfs_ref.target]
	call gitfs_is_zero20
	jz .next
	mov rdi, pol_trees
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [pol_tree_n], 1
	call pol_walk
.next:
	inc qword [pol_slot]
	jmp .slot
.done:
	mov rax, [pol_arena]
	call gitfs_release
	ret

; ---------------------------------------------------------------------------------------------
; pol_walk -- (internal) Marks what the objects on the walk stack name with pol_k: a commit
; gives its tree, a tree its entries (gitlinks skipped), a blob is marked.
;  IN:  pol_trees[0 .. pol_tree_n), pol_k
;  OUT: marks raised; pol_tree_n = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_walk:
.next:
	call watchdog_feed
	mov rax, [pol_arena]
	call gitfs_release
	mov rcx, [pol_tree_n]
	test rcx, rcx
	jz .out
	dec rcx
	mov [pol_tree_n], rcx
	imul rsi, rcx, HASH_SIZE
	add rsi, pol_trees
	mov rdi, pol_obj
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, pol_obj
	call gitfs_find
	jc .error
	mov al, [rdi + gitfs_idx_entry.type]
	cmp al, OBJ_BLOB
	je .blob
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .error                           ; a tree or commit not here yet (sync's to fetch)
	cmp al, OBJ_COMMIT
	je .commit
	cmp al, OBJ_TREE
	jne .next
	mov rsi, pol_obj
	call gitfs_read_tree
	jc .error
	mov rsi, rax
	lea rdx, [rax + rcx]
.entry:
	call gitfs_tree_next
	jc .next
	cmp r8, 0o160000
	je .entry
	mov rcx, [pol_tree_n]
	cmp rcx, POL_TREES_MAX
	jae .error
	imul rdi, rcx, HASH_SIZE
	add rdi, pol_trees
	push rsi
	mov rsi, r11
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	inc qword [pol_tree_n]
	jmp .entry
.commit:
	mov rsi, pol_obj
	call gitfs_commit_tree
	jc .error
	mov rsi, gitfs_tmp_hash
	mov rdi, pol_trees
	mov rcx, [pol_tree_n]
	imul rcx, rcx, HASH_SIZE
	add rdi, rcx
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [pol_tree_n]
	jmp .next
.blob:
	sub rdi, [gitfs_idx_ptr]
	sub rdi, IDX_ENTRIES_OFFSET
	shr rdi, IDX_ENTRY_SHIFT            ; the position
	cmp rdi, POL_MARKS_MAX
	jae .next
	mov al, [pol_k]
	cmp al, [pol_marks + rdi]
	jbe .next
	mov [pol_marks + rdi], al
	jmp .next
.error:
	inc qword [pol_mark_errors]
	jmp .next
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_marks_stale -- Do the marks need recomputing (the mainline head or the index count moved,
; or none were made yet)?
;  IN:  GitFS mounted
;  OUT: CF = 1 stale; CF = 0 current
;  CLOBBERS: RAX, RCX, RSI, RDI
pol_marks_stale:
	cmp byte [pol_marked], 0
	je .stale
	mov rsi, [gitfs_sb_ptr]
	mov eax, [rsi + gitfs_sb.index_count]
	cmp rax, [pol_mark_count]
	jne .stale
	add rsi, SB_HDR_SIZE + gitfs_ref.target
	mov rdi, pol_mark_rev
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .stale
	clc
	ret
.stale:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_seed_holders -- Fills the holder cache entry of an object this node has as a referral:
; the referral's holders (`node-N`) that are live, then the other live nodes by HRW weight,
; highest first (a node that lacks it answers NOT_HERE at once and the next is asked); up to
; GTP_HOLDERS_MAX. None (alone): the entry stays empty and the fetch asks the group.
;  IN:  RSI = 20-byte hash (its index entry a referral); pol_live current
;  OUT: CF = 0 seeded (maybe empty); CF = 1 not a readable referral
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_seed_holders:
	mov r15, rsi
	call gitfs_find
	jc .fail
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	jne .fail
	mov al, [rdi + gitfs_idx_entry.type]
	mov [pol_s_type], al
	mov rbx, [rdi + gitfs_idx_entry.offset]
	mov rax, rbx
	shr rax, SECTOR_SHIFT
	mov ecx, 2
	mov rdi, pol_rec_buf
	call ata_read
	jc .fail
	and ebx, SECTOR_SIZE - 1
	lea r14, [pol_rec_buf + rbx]        ; the record header
	cmp dword [r14 + gitfs_rec.magic], REC_MAGIC
	jne .fail
	mov rax, [r14 + gitfs_rec.object_size]
	test rax, rax
	jnz .sized
	mov rax, GTP_SIZE_UNKNOWN           ; sync's referrals say 0: unknown (the fetch learns it)
.sized:
	mov [pol_s_size], rax
	; the cache entry: this hash, no holders yet
	mov rsi, r15
	call gtp_holder_find
	mov rdi, rbx
	mov rsi, r15
	mov ecx, HASH_SIZE
	rep movsb
	mov r13, rbx                        ; the entry
	mov byte [r13 + gtp_holder.count], 0
	mov rax, [pol_s_size]
	mov [r13 + gtp_holder.size], rax
	mov al, [pol_s_type]
	mov [r13 + gtp_holder.otype], al
	mov rax, [ticks]
	mov [r13 + gtp_holder.stamp], rax
	; the referral's holders (only those that fit the two sectors read)
	mov r12d, [r14 + REC_HDR_SIZE]      ; holder count
	lea r11, [r14 + REC_HDR_SIZE + 8]   ; the first id
.ref_holder:
	test r12d, r12d
	jz .ranked
	lea rax, [r11 + REFERRAL_HOLDER_SIZE]
	cmp rax, pol_rec_buf + 2 * SECTOR_SIZE
	ja .ranked
	call pol_parse_node_id
	jc .ref_next
	call pol_add_holder
.ref_next:
	add r11, REFERRAL_HOLDER_SIZE
	dec r12d
	jmp .ref_holder
.ranked:
	; the other live nodes, highest weight first: a selection by repeated maximum
	mov rax, -1
	mov [pol_s_bound], rax              ; weights at or above were taken
	mov dword [pol_s_bound_node], 0
.pick:
	cmp byte [r13 + gtp_holder.count], GTP_HOLDERS_MAX
	jae .done
	xor r12d, r12d                      ; best node (0: none)
	xor r14d, r14d                      ; its weight
	xor ebx, ebx
.cand:
	cmp ebx, [pol_live_n]
	jae .picked
	mov eax, [pol_live + rbx * 4]
	cmp eax, [net_node]
	je .cand_next
	push rax
	mov rsi, r15
	call pol_weight
	pop rcx                             ; the node
	; below the bound (or equal with a higher node number)?
	cmp rax, [pol_s_bound]
	ja .cand_next
	jb .under
	cmp ecx, [pol_s_bound_node]
	jbe .cand_next
.under:
	test r12d, r12d
	jz .take
	cmp rax, r14
	jb .cand_next
	ja .take
	cmp ecx, r12d
	jae .cand_next
.take:
	mov r12d, ecx
	mov r14, rax
.cand_next:
	inc ebx
	jmp .cand
.picked:
	test r12d, r12d
	jz .done
	mov [pol_s_bound], r14
	mov [pol_s_bound_node], r12d
	mov eax, r12d
	call pol_add_holder
	jmp .pick
.done:
	clc
	ret
.fail:
	stc
	ret

; pol_parse_node_id -- (internal) a holder id "node-N" (N 1..65533 decimal, zero padded) at
; R11 -> CF = 0, EAX = N.  CLOBBERS: RAX, RCX, RDX
pol_parse_node_id:
	cmp dword [r11], 'node'
	jne .no
	cmp byte [r11 + 4], '-'
	jne .no
	xor eax, eax
	mov ecx, 5
.digit:
	cmp ecx, REFERRAL_HOLDER_SIZE
	jae .end
	movzx edx, byte [r11 + rcx]
	test edx, edx
	jz .end
	sub edx, '0'
	cmp edx, 9
	ja .no
	imul eax, eax, 10
	add eax, edx
	cmp eax, GTP_HOST_NODE
	ja .no
	inc ecx
	jmp .digit
.end:
	cmp ecx, 5
	je .no
	test eax, eax
	jz .no
	clc
	ret
.no:
	stc
	ret

; pol_add_holder -- (internal) appends node EAX (if live, not this node, not there yet and with
; an address) to the holder entry R13.  CLOBBERS: RAX, RBX, RCX, RDX
pol_add_holder:
	cmp eax, [net_node]
	je .out
	push rax
	call pol_is_live
	pop rax
	jc .out
	movzx ecx, byte [r13 + gtp_holder.count]
	cmp ecx, GTP_HOLDERS_MAX
	jae .out
	xor edx, edx
.dup:
	cmp edx, ecx
	jae .add
	cmp [r13 + gtp_holder.nodes + rdx * 4], eax
	je .out
	inc edx
	jmp .dup
.add:
	push rax
	call gtp_peer_find
	pop rax
	jc .out
	mov edx, [rbx + gtp_peer.ip]
	test edx, edx
	jz .out
	movzx ecx, byte [r13 + gtp_holder.count]
	mov [r13 + gtp_holder.nodes + rcx * 4], eax
	mov [r13 + gtp_holder.ips + rcx * 4], edx
	inc byte [r13 + gtp_holder.count]
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_fetch -- The placement's and the transparent read's one way to fetch an object this
; node has as a referral: seeds the holder cache (pol_seed_holders), then gtp_fetch_object
; (which verifies the SHA-1 before anything is used or stored).
;  IN:  RSI = 20-byte hash, AL = 1 transient (left in gtp_fetch_buf, not stored), 0 store it
;  OUT: as gtp_fetch_object (CF = 0: gtp_f_size, gtp_f_type; transient: the bytes at
;       [gtp_fetch_buf])
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_fetch:
	mov [gtp_f_transient], al
	push rsi
	call pol_live_compute
	mov rsi, [rsp]
	call pol_seed_holders
	pop rsi
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_fetch_object
	mov byte [gtp_f_transient], 0
	ret

; ---------------------------------------------------------------------------------------------
; pol_read_remote -- A transparent read: the content of an object this node has only as a
; referral, fetched from a holder and verified, not kept (the next read fetches it again).
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0, RAX = content, RCX = size, DL = type; CF = 1 (gitfs_error = GITFS_E_REFERRAL:
;       no holder gave bytes that hash right, or no network)
;  CLOBBERS: RBX, RDX, RSI, RDI, R8-R15
pol_read_remote:
	cmp byte [net_up], 0
	je .fail
	cmp qword [gtp_fetch_buf], 0
	je .fail
	mov al, 1
	call pol_fetch
	jc .fail
	inc qword [pol_reads]
	mov rax, [gtp_fetch_buf]
	mov rcx, [gtp_f_size]
	mov dl, [gtp_f_type]
	clc
	ret
.fail:
	mov byte [gitfs_error], GITFS_E_REFERRAL
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_stage -- Takes a blob the placement fetched (verified, in gtp_fetch_buf) into the batch;
; a full batch is stored first; a blob larger than the batch is stored alone.
;  IN:  gtp_f_hash, gtp_f_type, gtp_f_size, the bytes at [gtp_fetch_buf]
;  OUT: CF = 0 staged or stored; CF = 1 a store failed (counted)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_stage:
	mov rax, [gtp_f_size]
	cmp rax, POL_BATCH_BYTES
	ja .alone
	cmp dword [pol_b_n], POL_BATCH_MAX
	jae .flush_first
	add rax, [pol_b_bytes]
	cmp rax, POL_BATCH_BYTES
	jbe .room
.flush_first:
	call pol_flush
.room:
	cmp dword [pol_b_n], 0
	jne .take
	mov rax, [ticks]
	mov [pol_b_since], rax
.take:
	mov eax, [pol_b_n]
	imul rdi, rax, pol_staged_size
	add rdi, pol_b_list
	mov rbx, rdi
	mov rsi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov al, [gtp_f_type]
	mov [rbx + pol_staged.type], al
	mov rcx, [gtp_f_size]
	mov [rbx + pol_staged.size], rcx
	mov rax, [pol_b_bytes]
	mov [rbx + pol_staged.offset], rax
	lea rdi, [pol_batch + rax]
	add [pol_b_bytes], rcx
	mov rsi, [gtp_fetch_buf]
	rep movsb
	inc dword [pol_b_n]
	clc
	ret
.alone:
	; too big for the batch: stored from the fetch buffer in a transaction of its own
	call pol_flush
	mov rsi, gtp_f_hash
	mov rdi, pol_b_list
	mov ecx, HASH_SIZE
	rep movsb
	mov al, [gtp_f_type]
	mov [pol_b_list + pol_staged.type], al
	mov rax, [gtp_f_size]
	mov [pol_b_list + pol_staged.size], rax
	mov qword [pol_b_list + pol_staged.offset], 0
	mov dword [pol_b_n], 1
	mov rax, [gtp_fetch_buf]
	mov [pol_b_data], rax
	call pol_flush.store
	ret

; ---------------------------------------------------------------------------------------------
; pol_flush -- Stores the staged blobs (each verified when it was fetched) in one GitFS
; transaction, then tells the group with one HAVE each; a failure drops the batch (counted in
; failed; the pass runs again).
;  IN:  pol_b_list[0 .. pol_b_n)
;  OUT: pol_b_n = 0; CF = 1 when the store failed
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_flush:
	cmp dword [pol_b_n], 0
	je .empty
	mov qword [pol_b_data], pol_batch
.store:
	call watchdog_feed
	mov rax, [fs_arena_base]
	call gitfs_release
	mov rcx, [pol_b_bytes]
	cmp dword [pol_b_n], 1
	jne .begin
	mov rcx, [pol_b_list + pol_staged.size]
.begin:
	call gitfs_tx_begin
	jc .fs
	xor r12d, r12d
.put:
	cmp r12d, [pol_b_n]
	jae .publish
	imul rbx, r12, pol_staged_size
	add rbx, pol_b_list
	mov dl, [rbx + pol_staged.type]
	mov rsi, [pol_b_data]
	add rsi, [rbx + pol_staged.offset]
	mov rcx, [rbx + pol_staged.size]
	mov rdi, rbx                        ; its hash, checked when it was fetched
	call gitfs_tx_put_hashed
	jc .fs
	inc r12d
	jmp .put
.publish:
	call gitfs_tx_publish
	jc .fs
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	; HAVE to the group, one per blob
	xor r12d, r12d
.have:
	cmp r12d, [pol_b_n]
	jae .done
	imul rbx, r12, pol_staged_size
	add rbx, pol_b_list
	mov rsi, rbx
	mov rdi, gtp_tx_payload + gtp_have.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rax, [rbx + pol_staged.size]
	mov [gtp_tx_payload + gtp_have.size], rax
	mov al, [rbx + pol_staged.type]
	mov [gtp_tx_payload + gtp_have.otype], al
	mov byte [gtp_tx_payload + gtp_have.pad], 0
	mov word [gtp_tx_payload + gtp_have.pad + 1], 0
	mov al, GTP_T_HAVE
	mov ecx, gtp_have_size
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call gtp_send
	inc qword [pol_fetched]
	inc r12d
	jmp .have
.done:
	mov dword [pol_b_n], 0
	mov qword [pol_b_bytes], 0
	clc
	ret
.fs:
	mov rax, [fs_arena_base]
	call gitfs_release
	mov eax, [pol_b_n]
	add [pol_fetch_failed], rax
	mov byte [pol_failed], 1
	mov dword [pol_b_n], 0
	mov qword [pol_b_bytes], 0
	stc
	ret
.empty:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; pol_top_k -- The nodes HRW places an object on: the k live nodes of highest weight (ties: the
; lower node number), highest first; fewer when fewer are live.
;  IN:  RSI = 20-byte hash, ECX = k (1..POL_COPIES_MAX); pol_live current
;  OUT: pol_top[0 .. pol_top_n)
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R11, R14
pol_top_k:
	mov [pol_top_want], ecx
	mov dword [pol_top_n], 0
	mov rax, -1
	mov [pol_s_bound], rax              ; weights at or above were taken
	mov dword [pol_s_bound_node], 0
.pick:
	mov eax, [pol_top_n]
	cmp eax, [pol_top_want]
	jae .done
	cmp eax, POL_LIVE_MAX
	jae .done
	xor r11d, r11d                      ; best node (0: none)
	xor r14d, r14d                      ; its weight
	xor ebx, ebx
.cand:
	cmp ebx, [pol_live_n]
	jae .picked
	mov eax, [pol_live + rbx * 4]
	push rax
	call pol_weight
	pop rcx                             ; the node
	cmp rax, [pol_s_bound]              ; ranked after the last one taken?
	ja .cand_next
	jb .under
	cmp ecx, [pol_s_bound_node]
	jbe .cand_next
.under:
	test r11d, r11d
	jz .take
	cmp rax, r14
	jb .cand_next
	ja .take
	cmp ecx, r11d
	jae .cand_next
.take:
	mov r11d, ecx
	mov r14, rax
.cand_next:
	inc ebx
	jmp .cand
.picked:
	test r11d, r11d
	jz .done
	mov [pol_s_bound], r14
	mov [pol_s_bound_node], r11d
	mov eax, [pol_top_n]
	mov [pol_top + rax * 4], r11d
	inc dword [pol_top_n]
	jmp .pick
.done:
	ret

; ---------------------------------------------------------------------------------------------
; pol_surplus -- Is an index entry a surplus copy: a blob stored here (raw or delta, not a
; referral) whose mark is copies=k (not `all`, not unmarked), that HRW does not place on this
; node, and that is neither the blob `config/policy` names (a node that has the rules keeps
; them) nor pinned (pol_pin: a `fetch` asked for it here)?
;  IN:  RSI = the index entry, AL = its mark; pol_live current
;  OUT: CF = 0 surplus (its hash in pol_obj); CF = 1 not
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8-R10
pol_surplus:
	test al, al
	jz .no
	cmp al, POL_ALL
	je .no
	cmp byte [rsi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .no
	cmp byte [rsi + gitfs_idx_entry.type], OBJ_BLOB
	jne .no
	mov rdi, pol_obj
	mov ecx, HASH_SIZE
	rep movsb                           ; (the entry's hash is its first field)
	cmp byte [pol_cfg_named], 0
	je .placement
	mov rsi, pol_obj
	mov rdi, pol_cfg_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	je .no
.placement:
	push rax
	mov rsi, pol_obj
	call pol_pinned
	pop rax
	jnc .no
	mov rsi, pol_obj
	call pol_placed_here
	cmc                                 ; placed here: not surplus
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_pin -- Pins an object a `fetch` asked for on this node, or a propagation stored here
; (gtp_bcast.asm): the placement loop does not demote the last POL_PINS_MAX objects pinned, until
; the node restarts (the loop's own fetches and transparent reads are not pinned).
;  IN:  RSI = 20-byte hash
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RDI
pol_pin:
	call pol_pinned
	jnc .out                            ; pinned already
	push rsi
	mov eax, [pol_pin_next]
	imul edi, eax, HASH_SIZE
	add rdi, pol_pins
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	inc eax
	cmp eax, POL_PINS_MAX
	jb .next_ok
	xor eax, eax
.next_ok:
	mov [pol_pin_next], eax
	cmp dword [pol_pin_n], POL_PINS_MAX
	jae .out
	inc dword [pol_pin_n]
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_pinned -- Is an object pinned (pol_pin)?
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0 pinned; CF = 1 not
;  CLOBBERS: RAX, RCX, RDX, RDI
pol_pinned:
	xor edx, edx
.scan:
	cmp edx, [pol_pin_n]
	jae .no
	imul edi, edx, HASH_SIZE
	add rdi, pol_pins
	mov rax, [rdi]
	cmp rax, [rsi]
	jne .next
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .yes
.next:
	inc edx
	jmp .scan
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_top_silent -- Is one of the object's HRW nodes silent this pass (it left a confirmation
; unanswered: asking again before the next pass would only wait again)?
;  IN:  pol_top[0 .. pol_top_n), pol_silent[0 .. pol_silent_n)
;  OUT: CF = 0 one is; CF = 1 none
;  CLOBBERS: RAX, RCX, RDX
pol_top_silent:
	xor ecx, ecx
.top:
	cmp ecx, [pol_top_n]
	jae .none
	mov eax, [pol_top + rcx * 4]
	xor edx, edx
.silent:
	cmp edx, [pol_silent_n]
	jae .top_next
	cmp [pol_silent + rdx * 4], eax
	je .found
	inc edx
	jmp .silent
.top_next:
	inc ecx
	jmp .top
.found:
	clc
	ret
.none:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_answered -- Has a node answered the running confirmation (an I_HAVE with its qid and hash,
; recorded by gtp_rx_i_have)?
;  IN:  EAX = node
;  OUT: CF = 0 it has; CF = 1 not
;  CLOBBERS: RCX, RDX
pol_answered:
	xor ecx, ecx
.scan:
	cmp ecx, [gtp_q_count]
	jae .no
	mov edx, ecx
	shl edx, 5
	cmp [gtp_q_answers + rdx], eax
	je .yes
	inc ecx
	jmp .scan
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; pol_confirm -- Do all of an object's HRW nodes store it? One WHO_HAS round on the group (the
; gtp_query state: a new qid; gtp_rx_i_have records the I_HAVE answers, which only a node that
; stores the object sends), listened to until every node of pol_top has answered, at most
; POL_CONFIRM_MS. Those that did not answer join pol_silent.
;  IN:  pol_obj, pol_top[0 .. pol_top_n)
;  OUT: CF = 0 every one answered; CF = 1 not
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_confirm:
	mov rsi, pol_obj
	mov rdi, gtp_q_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov dword [gtp_q_tries], 1
	inc dword [gtp_qid_next]
	mov eax, [gtp_qid_next]
	mov [gtp_q_qid], eax
	mov dword [gtp_q_count], 0
	mov byte [gtp_q_settle], 0
	mov byte [gtp_q_active], 1
	mov rsi, gtp_q_hash
	mov rdi, gtp_tx_payload + gtp_who_has.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov [gtp_tx_payload + gtp_who_has.qid], eax
	call rdtsc64
	mov [gtp_q_start], rax
	mov al, GTP_T_WHO_HAS
	mov ecx, gtp_who_has_size
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call gtp_send                       ; (no slot: the round goes unanswered)
	mov eax, POL_CONFIRM_MS
	call gtp_deadline
	mov [pol_confirm_end], rax
.listen:
	call gtp_wait_step
	xor ebx, ebx
.check:
	cmp ebx, [pol_top_n]
	jae .all
	mov eax, [pol_top + rbx * 4]
	call pol_answered
	jc .wait
	inc ebx
	jmp .check
.wait:
	call rdtsc64
	cmp rax, [pol_confirm_end]
	jb .listen
	; not all: the silent ones are not asked about again this pass
	mov byte [gtp_q_active], 0
	xor ebx, ebx
.silent:
	cmp ebx, [pol_top_n]
	jae .unconfirmed
	mov eax, [pol_top + rbx * 4]
	call pol_answered
	jnc .silent_next
	mov ecx, [pol_silent_n]
	cmp ecx, POL_LIVE_MAX
	jae .silent_next
	mov [pol_silent + rcx * 4], eax
	inc dword [pol_silent_n]
.silent_next:
	inc ebx
	jmp .silent
.unconfirmed:
	stc
	ret
.all:
	mov byte [gtp_q_active], 0
	clc
	ret

; ---------------------------------------------------------------------------------------------
; pol_demote_stage -- Takes a surplus copy whose HRW nodes confirmed it into the demotion batch
; (a full batch is written first); its referral will name those nodes (the first
; GTP_HOLDERS_MAX).
;  IN:  pol_obj, pol_top[0 .. pol_top_n) (the confirmed holders)
;  OUT: CF = 0 staged; CF = 1 not (its record unreadable here)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_demote_stage:
	cmp dword [pol_d_n], POL_DEMOTE_MAX
	jb .room
	call pol_demote_flush
.room:
	mov rsi, pol_obj
	call gtp_object_info
	jc .out
	cmp dword [pol_d_n], 0
	jne .take
	mov rbx, [ticks]
	mov [pol_d_since], rbx
.take:
	mov ebx, [pol_d_n]
	imul rbx, rbx, pol_demote_size
	add rbx, pol_d_list
	mov [rbx + pol_demote.size], rax
	mov [rbx + pol_demote.type], dl
	mov rsi, pol_obj
	mov rdi, rbx
	mov ecx, HASH_SIZE
	rep movsb
	mov ecx, [pol_top_n]
	cmp ecx, GTP_HOLDERS_MAX
	jbe .count
	mov ecx, GTP_HOLDERS_MAX
.count:
	mov [rbx + pol_demote.count], cl
	mov rsi, pol_top
	lea rdi, [rbx + pol_demote.nodes]
	rep movsd
	inc dword [pol_d_n]
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; pol_demote_flush -- Writes the staged demotions in one GitFS transaction (gitfs_tx_demote
; each: a referral record naming the confirmed holders, the index entry switched to it), then
; forgets what the serve caches knew of them; a failure drops the batch (the pass runs again).
;  IN:  pol_d_list[0 .. pol_d_n)
;  OUT: pol_d_n = 0, pol_demoted counted; CF = 1 when the write failed
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_demote_flush:
	cmp dword [pol_d_n], 0
	je .empty
	call watchdog_feed
	mov rax, [fs_arena_base]
	call gitfs_release
	mov ecx, POL_DEMOTE_MAX * (REC_HDR_SIZE + 8 + GTP_HOLDERS_MAX * REFERRAL_HOLDER_SIZE + REC_ALIGN)
	call gitfs_tx_begin
	jc .fs
	xor r12d, r12d
.put:
	cmp r12d, [pol_d_n]
	jae .publish
	imul rsi, r12, pol_demote_size
	add rsi, pol_d_list
	mov dl, [rsi + pol_demote.type]
	mov rcx, [rsi + pol_demote.size]
	lea r9, [rsi + pol_demote.nodes]
	movzx r8d, byte [rsi + pol_demote.count]
	call gitfs_tx_demote
	jc .fs
	inc r12d
	jmp .put
.publish:
	call gitfs_tx_publish
	jc .fs
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov byte [gtp_info_valid], 0        ; (they said: stored here)
	mov byte [gtp_serve_valid], 0
	mov eax, [pol_d_n]
	add [pol_demoted], rax
	mov dword [pol_d_n], 0
	clc
	ret
.fs:
	mov rax, [fs_arena_base]
	call gitfs_release
	mov byte [pol_failed], 1
	mov dword [pol_d_n], 0
	stc
	ret
.empty:
	clc
	ret

; ---------------------------------------------------------------------------------------------
; pol_bases_step -- The pass's first phase, POL_SCAN_STEP index entries a turn: sets the bit of
; every blob a delta stored here is based on in pol_bases (its record header names the base);
; such a base is never demoted (the delta would no longer read). A delta record that cannot be
; read stops demotion for the pass (pol_no_demote). The first turn clears the bits and
; pol_silent.
;  IN:  pol_cursor
;  OUT: pol_bases; at the end of the index pol_phase = 1, pol_cursor = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R12
pol_bases_step:
	cmp qword [pol_cursor], 0
	jne .go
	mov rdi, pol_bases
	mov ecx, POL_MARKS_MAX / 64
	xor eax, eax
	rep stosq
	mov dword [pol_silent_n], 0
	mov byte [pol_no_demote], 0
.go:
	mov r12d, POL_SCAN_STEP
.entry:
	mov rbx, [pol_cursor]
	cmp rbx, [pol_mark_count]
	jae .done
	cmp rbx, POL_MARKS_MAX
	jae .done
	inc qword [pol_cursor]
	mov rsi, rbx
	shl rsi, IDX_ENTRY_SHIFT
	add rsi, [gitfs_idx_ptr]
	add rsi, IDX_ENTRIES_OFFSET
	cmp byte [rsi + gitfs_idx_entry.storage], STORE_DELTA
	jne .next
	mov rbx, [rsi + gitfs_idx_entry.offset]
	mov rax, rbx
	shr rax, SECTOR_SHIFT
	mov ecx, 1
	mov rdi, pol_rec_buf
	call ata_read
	jc .unknown
	and ebx, SECTOR_SIZE - 1
	lea rsi, [pol_rec_buf + rbx]        ; the record header (64-byte aligned: in this sector)
	cmp dword [rsi + gitfs_rec.magic], REC_MAGIC
	jne .unknown
	add rsi, gitfs_rec.base
	call gitfs_find
	jc .next
	sub rdi, [gitfs_idx_ptr]
	sub rdi, IDX_ENTRIES_OFFSET
	shr rdi, IDX_ENTRY_SHIFT
	cmp rdi, POL_MARKS_MAX
	jae .next
	bts [pol_bases], rdi
.next:
	dec r12d
	jnz .entry
	ret
.unknown:
	mov byte [pol_no_demote], 1
	jmp .next
.done:
	mov byte [pol_phase], 1
	mov qword [pol_cursor], 0
	ret

; ---------------------------------------------------------------------------------------------
; pol_poll -- The placement loop, one turn (from the main loop): after the settle time, when
; the live set (once it held still for POL_STABLE_TICKS), the refs or the index changed, a pass
; walks the index POL_SCAN_STEP entries a turn (first for delta bases: pol_bases_step), and
; each turn either fetches one blob that is placed here and held only as a referral, or asks
; the HRW nodes of one surplus copy to confirm it (pol_confirm); fetched blobs are stored
; POL_BATCH_MAX at a time (one transaction: three disk flushes, not three per blob), confirmed
; demotions POL_DEMOTE_MAX at a time, at the end of the pass, or POL_BATCH_TICKS after the first
; was staged. A pass with a failed fetch runs again after POL_RETRY_TICKS, doubled per failed
; pass up to POL_RETRY_MAX_TICKS; one that only left surplus copies unconfirmed, the same up to
; POL_CONFIRM_MAX_TICKS.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_poll:
	cmp byte [net_up], 0
	je .out
	cmp byte [fs_mounted], 0
	je .out
	cmp byte [pol_c_state], 1
	jne .no_control
	call pol_flush
	mov dword [pol_d_n], 0              ; (the rules change: demotions wait for the new marks)
	jmp pol_control_run                 ; a queued CONTROL POLICY
.no_control:
	cmp qword [gtp_fetch_buf], 0
	je .out
	mov rax, [ticks]
	cmp rax, POL_SETTLE_TICKS
	jb .out
	cmp rax, [pol_next]
	jb .out
	cmp byte [gtp_c_state], 0
	jne .out                            ; a COMMIT is queued or running: it goes first
	cmp dword [pol_b_n], 0
	je .no_batch
	mov rax, [ticks]
	sub rax, [pol_b_since]
	cmp rax, POL_BATCH_TICKS
	jb .no_batch
	call pol_flush                      ; staged a while ago: store what there is
.no_batch:
	call pol_live_compute
	cmp byte [pol_live_moved], 0
	je .live_same
	mov byte [pol_live_moved], 0
	call pol_flush
	mov dword [pol_d_n], 0              ; confirmed under the old live set: dropped
	mov qword [pol_retry], 0
	mov qword [pol_d_retry], 0
	mov byte [pol_pass], 1              ; the live set moved: place again from the start,
	mov qword [pol_cursor], 0           ; once it has held still for POL_STABLE_TICKS
	mov byte [pol_phase], 0
	mov rax, [ticks]
	add rax, POL_STABLE_TICKS
	mov [pol_next], rax
	ret
.live_same:
	call pol_marks_stale
	jnc .marks_ok
	call pol_flush
	mov rax, [fs_arena_base]
	call gitfs_release
	call pol_mark
	mov dword [pol_d_n], 0              ; confirmed under the old marks: dropped
	mov qword [pol_retry], 0
	mov qword [pol_d_retry], 0
	mov byte [pol_marked], 1
	mov byte [pol_pass], 1
	mov qword [pol_cursor], 0
	mov byte [pol_phase], 0
.marks_ok:
	cmp dword [pol_d_n], 0
	je .no_demotions
	mov rax, [ticks]
	sub rax, [pol_d_since]
	cmp rax, POL_BATCH_TICKS
	jb .no_demotions
	call pol_demote_flush               ; staged a while ago: write what there is
.no_demotions:
	cmp byte [pol_pass], 0
	jne .step
	mov rax, [ticks]
	add rax, POL_RECHECK_TICKS
	mov [pol_next], rax
	ret
.step:
	cmp byte [pol_phase], 0
	je pol_bases_step                   ; (its RET ends the turn)
	mov r12d, POL_SCAN_STEP
.entry:
	mov rbx, [pol_cursor]
	cmp rbx, [pol_mark_count]
	jae .pass_done
	cmp rbx, POL_MARKS_MAX
	jae .pass_done
	inc qword [pol_cursor]
	mov al, [pol_marks + rbx]
	test al, al
	jz .entry_next
	mov rsi, rbx
	shl rsi, IDX_ENTRY_SHIFT
	add rsi, [gitfs_idx_ptr]
	add rsi, IDX_ENTRIES_OFFSET
	cmp byte [rsi + gitfs_idx_entry.storage], STORE_REFERRAL
	jne .stored
	cmp byte [rsi + gitfs_idx_entry.type], OBJ_BLOB
	jne .entry_next
	mov rdi, pol_obj
	mov ecx, HASH_SIZE
	rep movsb                           ; (the entry's hash is its first field)
	mov rsi, pol_obj
	call pol_placed_here
	jc .entry_next
	mov rsi, pol_obj
	call bc_in_update
	jnc .not_in_update
	mov byte [pol_failed], 1            ; the propagation brings it: the pass looks again after
	jmp .entry_next                     ; (if the update fails, then it is fetched)
.not_in_update:
	; placed here and not held: fetch it (one a turn), staged for a batched store
	mov rax, [fs_arena_base]
	call gitfs_release
	mov rsi, pol_obj
	call delta_hint_find
	jc .whole
	; a new version of a file whose previous version this node stores (sync's delta hint): as
	; a git delta against it, stored at once (gtp_fetch_based; whole when no delta comes)
	call pol_live_compute
	mov rsi, pol_obj
	call pol_seed_holders
	mov rsi, pol_obj
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [gtp_f_transient], 0
	call gtp_fetch_based
	jc .fetch_failed
	inc qword [pol_fetched]
	cmp byte [gtp_d_used], 1
	jne .based
	inc qword [pol_deltas]
.based:
	ret
.whole:
	mov rsi, pol_obj
	mov al, 1
	call pol_fetch
	jc .fetch_failed
	call pol_stage
	ret
.fetch_failed:
	inc qword [pol_fetch_failed]
	mov byte [pol_failed], 1
	ret
.stored:
	; stored here: a surplus copy is demoted once all its HRW nodes confirm they store it
	call pol_surplus
	jc .entry_next
	cmp byte [pol_no_demote], 0
	jne .entry_next
	cmp byte [pol_cfg_named], 0
	je .rules_read
	cmp byte [pol_config_state], 1
	jne .entry_next                     ; the rules' blob unread: the marks may be the defaults'
.rules_read:
	bt [pol_bases], rbx
	jc .entry_next                      ; a delta here is based on it
	mov rsi, pol_obj
	movzx ecx, byte [pol_marks + rbx]
	call pol_top_k
	call pol_top_silent
	jc .ask
	mov byte [pol_unconfirmed], 1       ; one of them left a confirmation unanswered: next pass
	jmp .entry_next
.ask:
	mov rax, [fs_arena_base]
	call gitfs_release
	call pol_confirm                    ; one a turn, like the fetches
	jc .confirm_failed
	call pol_demote_stage
	ret
.confirm_failed:
	inc qword [pol_unconfirmed_n]
	mov byte [pol_unconfirmed], 1
	ret
.entry_next:
	dec r12d
	jnz .entry
	ret
.pass_done:
	call pol_flush
	call pol_demote_flush
	mov qword [pol_cursor], 0
	mov byte [pol_phase], 0
	mov byte [pol_pass], 0
	cmp byte [pol_failed], 0
	jne .failed_pass
	cmp byte [pol_unconfirmed], 0
	je .settled
	; only surplus copies left unconfirmed: again after POL_RETRY_TICKS, doubled per such pass
	; up to POL_CONFIRM_MAX_TICKS (the holders fetch what they were placed meanwhile)
	mov byte [pol_unconfirmed], 0
	mov byte [pol_pass], 1
	mov rax, [pol_d_retry]
	cmp rax, POL_RETRY_TICKS
	jae .d_backoff
	mov eax, POL_RETRY_TICKS
.d_backoff:
	mov rdx, rax
	add rax, [ticks]
	mov [pol_next], rax
	add rdx, rdx
	cmp rdx, POL_CONFIRM_MAX_TICKS
	jbe .d_backoff_set
	mov edx, POL_CONFIRM_MAX_TICKS
.d_backoff_set:
	mov [pol_d_retry], rdx
	ret
.failed_pass:
	mov byte [pol_failed], 0
	mov byte [pol_unconfirmed], 0
	mov byte [pol_pass], 1
	mov rax, [pol_retry]
	cmp rax, POL_RETRY_TICKS
	jae .backoff
	mov eax, POL_RETRY_TICKS
.backoff:
	mov rdx, rax
	add rax, [ticks]
	mov [pol_next], rax
	add rdx, rdx                        ; the next failed pass waits twice as long
	cmp rdx, POL_RETRY_MAX_TICKS
	jbe .backoff_set
	mov edx, POL_RETRY_MAX_TICKS
.backoff_set:
	mov [pol_retry], rdx
	ret
.settled:
	mov qword [pol_retry], 0
	mov qword [pol_d_retry], 0
	inc qword [pol_passes]
.out:
	ret


; ---------------------------------------------------------------------------------------------
; pol_rx_control -- A verified CONTROL POLICY (op 8): `glen u8` · `glob[glen]` (1..63 bytes of
; A-Z a-z 0-9 . _ / - *) · `copies u8` (1..254, 255 all), the sizes adding up to the payload
; exactly (else dropped, size). Queued for the main loop; one already queued: answered busy.
;  IN:  RSI = frame, RBX = payload, ECX = payload length; net_rx_src_ip
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8, R9
pol_rx_control:
	cmp ecx, 4 + 1 + 1 + 1
	jb .size
	movzx eax, byte [rbx + 4]           ; glen
	test eax, eax
	jz .size
	cmp eax, POL_GLOB_MAX
	ja .size
	lea edx, [eax + 4 + 1 + 1]
	cmp edx, ecx
	jne .size
	movzx edx, byte [rbx + 5 + rax]     ; copies
	test edx, edx
	jz .size
	mov edi, [rsi + gtp_hdr.sender]
	mov [pol_c_sender], edi
	mov edi, [net_rx_src_ip]
	cmp byte [pol_c_state], 0
	jne .busy
	mov [pol_c_ip], edi
	mov [pol_c_copies], dl
	lea rsi, [rbx + 5]
	mov rdi, pol_c_glob
	mov ecx, eax
	rep movsb
	mov byte [rdi], 0
	mov byte [pol_c_state], 1
	ret
.busy:
	mov byte [pol_c_busy_reply + HASH_SIZE], GTP_CS_BUSY
	mov edx, edi
	mov rsi, pol_c_busy_reply
	jmp pol_control_answer
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; pol_control_answer -- (internal) CONTROL POLICY_SET (op 9) to a node: `blob[20]` (the new
; configuration blob; zeros when none was written) · `status u8` (the COMMITTED codes).
;  IN:  EDX = destination IPv4; RSI = the 21 bytes (blob, status)
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8, R9
pol_control_answer:
	push rbx
	push rdx
	mov rdi, gtp_tx_payload
	mov dword [rdi], GTP_OP_POLICY_SET
	add rdi, 4
	mov ecx, HASH_SIZE + 1
	rep movsb
	pop rdx
	mov al, GTP_T_CONTROL
	mov ecx, 4 + HASH_SIZE + 1
	xor r8d, r8d
	call gtp_send
	pop rbx
	ret

; ---------------------------------------------------------------------------------------------
; pol_control_run -- Runs a queued CONTROL POLICY (from pol_poll, in the main loop): the rules
; now in force (config/policy, or the defaults) with the glob's rule set (replaced in place, or
; added before the `*` rule), written as a new blob (one rule a line: comments are not kept)
; that `config/policy` (a symbolic ref, made if absent) names, in one transaction; answers
; POLICY_SET and prints EVENT control op=policy glob=... copies=N status=N blob=... from=NODE.
; A rule already in force in config/policy is answered with that blob, nothing written
; (counted in pol_c_same: the host peer resends a POLICY until it is answered).
;  IN:  pol_c_state = 1
;  OUT: pol_c_state = 0
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
pol_control_run:
	mov byte [pol_c_state], 2
	mov rdi, pol_c_reply
	xor eax, eax
	mov ecx, HASH_SIZE + 1
	rep stosb
	mov rax, [fs_arena_base]
	call gitfs_release
	call pol_load_config
	mov rax, [fs_arena_base]
	call gitfs_release
	; the glob's rule: replaced, or inserted before the first `*` rule (else at the end)
	xor ebx, ebx
.find:
	cmp ebx, [pol_rule_n]
	jae .insert
	imul rdi, rbx, pol_rule_size
	add rdi, pol_rules
	mov rsi, pol_c_glob
	call pol_str_eq
	je .found
	inc ebx
	jmp .find
.found:
	; the rule in force already, read from config/policy (a resend whose POLICY_SET was lost,
	; or the same change twice): the blob as it is, nothing written, the revision unmoved
	cmp byte [pol_config_state], 1
	jne .set
	imul rdi, rbx, pol_rule_size
	mov al, [pol_c_copies]
	cmp [pol_rules + rdi + pol_rule.copies], al
	jne .set
	mov rsi, pol_cfg_hash
	mov rdi, pol_c_reply
	mov ecx, HASH_SIZE
	rep movsb
	inc dword [pol_c_same]
	mov byte [pol_c_reply + HASH_SIZE], GTP_CS_OK
	jmp .answer
.insert:
	cmp dword [pol_rule_n], POL_RULES_MAX
	jae .bad
	xor ebx, ebx
.star:
	cmp ebx, [pol_rule_n]
	jae .shift
	imul rdi, rbx, pol_rule_size
	cmp word [pol_rules + rdi], '*'     ; "*" and its terminator
	je .shift
	inc ebx
	jmp .star
.shift:
	mov ecx, [pol_rule_n]
	sub ecx, ebx
	imul ecx, ecx, pol_rule_size
	mov eax, [pol_rule_n]
	imul rsi, rax, pol_rule_size
	add rsi, pol_rules - 1              ; last byte of the last rule
	lea rdi, [rsi + pol_rule_size]
	std
	rep movsb
	cld
	inc dword [pol_rule_n]
	imul rdi, rbx, pol_rule_size
	add rdi, pol_rules
	mov rsi, pol_c_glob
	mov ecx, POL_GLOB_MAX + 1
	rep movsb
.set:
	imul rdi, rbx, pol_rule_size
	mov al, [pol_c_copies]
	mov [pol_rules + rdi + pol_rule.copies], al
	; the text: "<glob> all|copies=K\n" per rule
	mov rdi, pol_cfg_text
	xor ebx, ebx
.format:
	cmp ebx, [pol_rule_n]
	jae .formatted
	imul rsi, rbx, pol_rule_size
	add rsi, pol_rules
.glob_copy:
	lodsb
	test al, al
	jz .glob_done
	stosb
	jmp .glob_copy
.glob_done:
	mov al, ' '
	stosb
	imul rsi, rbx, pol_rule_size
	movzx eax, byte [pol_rules + rsi + pol_rule.copies]
	cmp eax, POL_ALL
	jne .count
	mov dword [rdi], 'all' | (10 << 24)
	add rdi, 4
	jmp .rule_next
.count:
	push rax
	mov rsi, str_pol_copies_eq
	call gitfs_put_str
	pop rax
	call pol_put_dec
	mov al, 10
	stosb
.rule_next:
	inc ebx
	jmp .format
.formatted:
	mov rcx, rdi
	sub rcx, pol_cfg_text
	mov [pol_c_len], rcx
	; one transaction: the blob, the ref (made symbolic if new), the mainline-log commit
	call rtc_unix_time
	mov [gitfs_tx_time], rax
	mov ecx, 0x10000
	call gitfs_tx_begin
	jc .fs
	mov dl, OBJ_BLOB
	mov rsi, pol_cfg_text
	mov rcx, [pol_c_len]
	mov rdi, pol_c_reply
	call gitfs_tx_put
	jc .fs
	mov rsi, str_pol_config_ref
	mov ecx, str_pol_config_ref_len
	call gitfs_ref_find
	jnc .existing
	mov rsi, str_pol_config_ref
	mov ecx, str_pol_config_ref_len
	call gitfs_tx_new_branch
	jc .fs
	mov byte [rdi + gitfs_ref.kind], REF_KIND_SYMBOLIC
	jmp .set_ref
.existing:
	cmp byte [rdi + gitfs_ref.kind], REF_KIND_SYMBOLIC
	jne .bad
.set_ref:
	mov rsi, str_pol_config_ref
	mov rdx, pol_c_reply
	mov r8d, 0xFF
	mov r9d, 0xFF
	xor r10d, r10d
	call gitfs_tx_set_ref
	jc .fs
	call gitfs_tx_publish
	jc .fs
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	mov byte [pol_c_reply + HASH_SIZE], GTP_CS_OK
	jmp .answer
.bad:
	mov byte [pol_c_reply + HASH_SIZE], GTP_CS_BAD
	jmp .answer
.fs:
	mov rax, [fs_arena_base]
	call gitfs_release
	mov byte [pol_c_reply + HASH_SIZE], GTP_CS_FS
.answer:
	cmp byte [pol_c_reply + HASH_SIZE], GTP_CS_OK
	je .reply
	mov rdi, pol_c_reply                ; nothing written: no blob
	xor eax, eax
	mov ecx, HASH_SIZE
	rep stosb
.reply:
	mov edx, [pol_c_ip]
	mov rsi, pol_c_reply
	call pol_control_answer
	mov rsi, str_ev_control
	call event_begin
	mov rsi, str_gc_key_op
	mov rdx, str_pol_policy
	call event_kv_str
	mov rsi, str_pol_key_glob
	mov rdx, pol_c_glob
	call event_kv_str
	mov rsi, str_pol_key_copies
	movzx eax, byte [pol_c_copies]
	call event_kv_dec
	mov rsi, str_key_status
	movzx eax, byte [pol_c_reply + HASH_SIZE]
	call event_kv_dec
	mov rsi, str_pol_key_blob
	call event_key
	mov rsi, pol_c_reply
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gtp_key_from
	mov eax, [pol_c_sender]
	call event_kv_dec
	mov rsi, str_pol_key_same
	mov eax, [pol_c_same]
	call event_kv_dec
	call event_end
	mov byte [pol_c_state], 0
	ret

; pol_str_eq -- (internal) ZF = 1 when the zero-terminated strings at RSI and RDI are equal.
;  CLOBBERS: RAX, RSI, RDI
pol_str_eq:
	mov al, [rsi]
	cmp al, [rdi]
	jne .out
	test al, al
	jz .out
	inc rsi
	inc rdi
	jmp pol_str_eq
.out:
	ret

; pol_put_dec -- (internal) writes EAX (< 1000) in decimal at RDI, advancing it.
;  CLOBBERS: RAX, RCX, RDX
pol_put_dec:
	xor ecx, ecx
.div:
	xor edx, edx
	push rbx
	mov ebx, 10
	div ebx
	pop rbx
	add dl, '0'
	push rdx
	inc ecx
	test eax, eax
	jnz .div
.put:
	pop rax
	stosb
	dec ecx
	jnz .put
	ret

; ---------------------------------------------------------------------------------------------
; cmd_placed -- `placed`: `EVENT placed want=N held=N missing=N live=N rules=N config=0|1
; fetched=N failed=N reads=N demoted=N surplus=N deltas=N` -- want: blobs the policy places on this
; node (HRW over the live set now), held: of them stored here, missing: of them only referrals
; here; fetched and failed: the placement loop's fetches; reads: transparent reads served;
; demoted: surplus copies given up since boot; surplus: copies stored here now that the policy
; places elsewhere (pol_surplus: what the loop gives up once their holders confirm); deltas:
; fetches of new versions that came as a delta against the stored previous one.
;  IN/OUT/CLOBBERS: a shell command handler (shell.asm: RSI = arguments, CF, anything
;  but RSP/RBP)
cmd_placed:
	call fs_begin
	jc .out
	call pol_live_compute
	call pol_marks_stale
	jnc .counting
	call pol_mark
	mov dword [pol_d_n], 0              ; confirmed under the old marks: dropped
	mov qword [pol_retry], 0            ; (as pol_poll does: the loop places again now, not
	mov qword [pol_d_retry], 0          ; after a failed pass's backoff)
	mov rax, [ticks]
	mov [pol_next], rax
	mov byte [pol_marked], 1
	mov byte [pol_pass], 1
	mov qword [pol_cursor], 0
	mov byte [pol_phase], 0
.counting:
	xor r13d, r13d                      ; want
	xor r14d, r14d                      ; held
	mov qword [pol_p_surplus], 0
	xor ebx, ebx
.entry:
	call watchdog_feed                  ; (cheap: it writes the ib700 only every so often)
	cmp rbx, [pol_mark_count]
	jae .print
	cmp rbx, POL_MARKS_MAX
	jae .print
	mov al, [pol_marks + rbx]
	test al, al
	jz .next
	mov rsi, rbx
	shl rsi, IDX_ENTRY_SHIFT
	add rsi, [gitfs_idx_ptr]
	add rsi, IDX_ENTRIES_OFFSET
	cmp byte [rsi + gitfs_idx_entry.type], OBJ_BLOB
	jne .next
	mov r15, rsi
	mov [pol_p_mark], al
	call pol_surplus
	jc .not_surplus
	inc qword [pol_p_surplus]           ; (not placed here)
	jmp .next
.not_surplus:
	mov rsi, r15
	mov al, [pol_p_mark]
	call pol_placed_here
	jc .next
	inc r13
	cmp byte [r15 + gitfs_idx_entry.storage], STORE_REFERRAL
	je .next
	inc r14
.next:
	inc rbx
	jmp .entry
.print:
	mov rsi, str_ev_placed
	call event_begin
	mov rsi, str_pol_key_want
	mov rax, r13
	call event_kv_dec
	mov rsi, str_pol_key_held
	mov rax, r14
	call event_kv_dec
	mov rsi, str_pol_key_missing
	mov rax, r13
	sub rax, r14
	call event_kv_dec
	mov rsi, str_pol_key_live
	mov eax, [pol_live_n]
	call event_kv_dec
	mov rsi, str_pol_key_rules
	mov eax, [pol_rule_n]
	call event_kv_dec
	mov rsi, str_pol_key_config
	movzx eax, byte [pol_config_state]
	call event_kv_dec
	mov rsi, str_pol_key_fetched
	mov rax, [pol_fetched]
	call event_kv_dec
	mov rsi, str_pol_key_failed
	mov rax, [pol_fetch_failed]
	call event_kv_dec
	mov rsi, str_pol_key_reads
	mov rax, [pol_reads]
	call event_kv_dec
	mov rsi, str_pol_key_demoted
	mov rax, [pol_demoted]
	call event_kv_dec
	mov rsi, str_pol_key_surplus
	mov rax, [pol_p_surplus]
	call event_kv_dec
	mov rsi, str_pol_key_deltas
	mov rax, [pol_deltas]
	call event_kv_dec
	call event_end
	clc
.out:
	ret

str_pol_config_ref:  db "config/policy"
str_pol_config_ref_len equ $ - str_pol_config_ref
                     db 0
str_ev_placed:       db "placed", 0
str_pol_copies_eq:   db "copies=", 0
str_pol_policy:      db "policy", 0
str_pol_key_glob:    db "glob", 0
str_pol_key_copies:  db "copies", 0
str_pol_key_blob:    db "blob", 0
str_pol_key_same:    db "same", 0
str_pol_key_want:    db "want", 0
str_pol_key_held:    db "held", 0
str_pol_key_missing: db "missing", 0
str_pol_key_live:    db "live", 0
str_pol_key_rules:   db "rules", 0
str_pol_key_config:  db "config", 0
str_pol_key_fetched: db "fetched", 0
str_pol_key_failed:  db "failed", 0
str_pol_key_reads:   db "reads", 0
str_pol_key_demoted: db "demoted", 0
str_pol_key_surplus: db "surplus", 0
str_pol_key_deltas:  db "deltas", 0
align 8
pol_default_rules:                      ; `kernel all`, `* copies=3`
	db "kernel"
	times POL_GLOB_MAX + 1 - 6 db 0
	db POL_ALL
	times 7 db 0
	db "*"
	times POL_GLOB_MAX db 0
	db POL_DEFAULT_COPIES
	times 7 db 0

section .bss
alignb 8
pol_next:           resq 1              ; ticks: the next turn that looks at anything
pol_retry:          resq 1              ; ticks a failed pass waits (0: POL_RETRY_TICKS)
pol_cursor:         resq 1              ; the pass's next index position
pol_mark_count:     resq 1              ; index count the marks were made for
pol_mark_errors:    resq 1
pol_arena:          resq 1
pol_slot:           resq 1
pol_tree_n:         resq 1
pol_fetched:        resq 1
pol_fetch_failed:   resq 1
pol_reads:          resq 1
pol_passes:         resq 1
pol_s_size:         resq 1
pol_s_bound:        resq 1
pol_s_bound_node:   resd 1
pol_live_n:         resd 1
pol_rule_n:         resd 1
pol_c_same:         resd 1              ; POLICYs answered with the rule already in force
pol_config_bad:     resd 1
pol_live:           resd POL_LIVE_MAX
pol_live_new:       resd POL_LIVE_MAX
pol_wbuf:           resb HASH_SIZE + 4
pol_wdigest:        resb HASH_SIZE
pol_mark_rev:       resb HASH_SIZE
pol_cfg_hash:       resb HASH_SIZE
pol_obj:            resb HASH_SIZE
pol_name:           resb REF_NAME_MAX + 8
pol_s_type:         resb 1
pol_k:              resb 1
pol_marked:         resb 1              ; 1 once marks were made
pol_live_moved:     resb 1              ; the live set changed since the loop last looked
pol_pass:           resb 1              ; 1 while a placement pass runs
pol_failed:         resb 1              ; a fetch of this pass failed
pol_config_state:   resb 1
pol_c_state:        resb 1              ; CONTROL POLICY: 0 idle, 1 queued, 2 running
pol_c_copies:       resb 1
alignb 8
pol_c_len:          resq 1
pol_c_sender:       resd 1
pol_c_ip:           resd 1
pol_c_busy_reply:   resb HASH_SIZE + 4  ; POLICY_SET busy: no blob
pol_c_reply:        resb HASH_SIZE + 4  ; POLICY_SET: blob, status
pol_c_glob:         resb POL_GLOB_MAX + 8
pol_cfg_text:       resb POL_RULES_MAX * (POL_GLOB_MAX + 16)
alignb 8
pol_rules:          resb POL_RULES_MAX * pol_rule_size
pol_rec_buf:        resb 2 * SECTOR_SIZE
pol_trees:          resb POL_TREES_MAX * HASH_SIZE
pol_marks:          resb POL_MARKS_MAX
alignb 8
pol_d_n:            resd 1              ; demotions staged
pol_d_pad:          resd 1
pol_d_since:        resq 1              ; ticks at the first of them
pol_d_retry:        resq 1              ; ticks an unconfirmed pass waits (0: POL_RETRY_TICKS)
pol_demoted:        resq 1              ; copies demoted since boot
pol_deltas:         resq 1              ; placement fetches that came as a delta (sync's hint)
pol_unconfirmed_n:  resq 1              ; confirmations not answered by every HRW node
pol_confirm_end:    resq 1              ; TSC: the running confirmation's end
pol_p_surplus:      resq 1              ; (cmd_placed's count)
pol_top_n:          resd 1
pol_top_want:       resd 1
pol_silent_n:       resd 1
pol_d_pad2:         resd 1
pol_top:            resd POL_LIVE_MAX   ; an object's HRW nodes, highest weight first
pol_silent:         resd POL_LIVE_MAX   ; nodes that left a confirmation of this pass unanswered
pol_phase:          resb 1              ; 0: the pass looks for delta bases; 1: it places
pol_unconfirmed:    resb 1              ; a surplus copy of this pass was not confirmed
pol_no_demote:      resb 1              ; a delta's base unknown: no demotion this pass
pol_cfg_named:      resb 1              ; config/policy names a blob (pol_cfg_hash)
pol_p_mark:         resb 1
alignb 4
pol_pin_n:          resd 1
pol_pin_next:       resd 1
pol_pins:           resb POL_PINS_MAX * HASH_SIZE
alignb 8
pol_d_list:         resb POL_DEMOTE_MAX * pol_demote_size
pol_bases:          resb POL_MARKS_MAX / 8   ; index positions a stored delta is based on
alignb 8
pol_b_n:            resd 1              ; blobs staged
pol_b_pad:          resd 1
pol_b_bytes:        resq 1
pol_b_since:        resq 1              ; ticks at the first of them
pol_b_data:         resq 1              ; where their bytes are (pol_batch, or the fetch buffer)
pol_b_list:         resb POL_BATCH_MAX * pol_staged_size
alignb 16
pol_batch:          resb POL_BATCH_BYTES
section .text
