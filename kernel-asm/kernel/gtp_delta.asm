; gtp_delta.asm -- deltas on the wire (docs/protocol.md, "Deltas"): a fetcher that holds the
; previous version of a blob asks a holder for the new one as a git delta against it
; (GET_DELTA); the holder, if it stores both, encodes the delta once (lib/delta_enc.asm) into
; its delta cache and serves it in DELTA chunks, or answers "full" when the delta is not
; smaller (the store's rule: at most 75 % of the blob and at least 64 bytes smaller) or "absent".
; The fetcher applies the delta to its base (gitfs_delta_apply) and checks the result's SHA-1
; before it stores anything; a delta that does not apply or does not hash is refused (counted
; bad_delta) and the object fetched whole (gtp_fetch_object). Also `fetch HASH [BASE]` and the
; routine that finds a base (the blob a commit's parent held at a path).

GTP_T_GET_DELTA     equ 23
GTP_T_DELTA         equ 24
GTP_DELTA_FIXED     equ gtp_delta_pl_size   ; 48
GTP_DELTA_CACHE_MAX equ 0x100000        ; 1 MiB: the largest delta served (and fetched)
GTP_DELTA_MIN       equ 64              ; blobs smaller than this move whole; a delta saves >= 64
GTP_DELTA_ST_OK     equ 0               ; DELTA status: a chunk of the delta
GTP_DELTA_ST_FULL   equ 1               ; no delta worth it (or no base here): fetch it whole
GTP_DELTA_ST_ABSENT equ 2               ; the target is not stored here
GTP_DELTA_ST_NONE   equ 0xFF            ; (fetcher: no answer yet)
GTP_DELTA_CHUNKS    equ (GTP_DELTA_CACHE_MAX + GTP_CHUNK_MAX - 1) / GTP_CHUNK_MAX
GTP_DELTA_FIRST_MS  equ 1000            ; the first answer may wait for the holder's encoding:
GTP_DELTA_MS_PER_MIB equ 500            ;   1 s + 0.5 s per MiB of the object
GTP_WIRE_OVERHEAD   equ 14 + 20 + 8 + gtp_hdr_size   ; Ethernet, IPv4, UDP, GTP headers
DH_HINTS_MAX        equ 64              ; delta hints kept (new blob -> its base)
DH_PAIRS_MAX        equ 256             ; tree pairs waiting in one commit's comparison

; ---------------------------------------------------------------------------------------------
; delta_reserve -- Takes the delta cache (GTP_DELTA_CACHE_MAX) from the top of RAM after
; net_reserve, when the node has a fetch buffer and RAM to spare; else there is none (GET_DELTA
; is answered "full").
;  IN:  mem_top, gtp_fetch_buf
;  OUT: gtp_dc_buf (0: none); mem_top lowered
;  CLOBBERS: RAX
delta_reserve:
	cmp qword [gtp_fetch_buf], 0
	je .none
	mov rax, [mem_top]
	sub rax, GTP_DELTA_CACHE_MAX
	jb .none
	cmp rax, FS_ARENA_ADDR + GTP_RESERVE_FLOOR
	jb .none
	mov [mem_top], rax
	mov [gtp_dc_buf], rax
.none:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_get_delta -- GET_DELTA: the window [offset, offset + length) of the delta that turns
; `base` into `hash`, as DELTA chunks straight back to the asker; a status DELTA (full /
; absent) when there is no such delta here. The delta is encoded once per (hash, base) into the
; delta cache (reading and verifying both objects through GitFS, then delta_encode).
;  IN:  RSI = frame; net_rx_src_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11, R14
gtp_rx_get_delta:
	mov eax, [rsi + gtp_hdr_size + gtp_get_delta_pl.length]
	test eax, eax
	jz .size
	cmp eax, GTP_GET_MAX
	ja .size
	mov edx, [rsi + gtp_hdr_size + gtp_get_delta_pl.offset]
	mov [gtp_dg_pos], rdx
	add rax, rdx
	mov [gtp_dg_end], rax
	mov eax, [rsi + gtp_hdr_size + gtp_get_delta_pl.fid]
	mov [gtp_dg_fid], eax
	mov eax, [net_rx_src_ip]
	mov [gtp_dg_ip], eax
	add rsi, gtp_hdr_size + gtp_get_delta_pl.hash
	mov rdi, gtp_dg_hash
	mov ecx, 2 * HASH_SIZE              ; hash and base (adjacent in both)
	rep movsb
	cmp byte [gtp_dc_valid], 0
	je .encode
	mov rsi, gtp_dg_hash
	mov rdi, gtp_dc_hash
	mov ecx, 2 * HASH_SIZE
	repe cmpsb
	je .serve
.encode:
	call gtp_delta_encode
.serve:
	mov al, [gtp_dc_status]
	cmp al, GTP_DELTA_ST_OK
	jne .status
	mov rax, [gtp_dg_pos]
	cmp rax, [gtp_dc_len]
	jae .size                           ; a window past the end
	xor edx, edx
	mov ecx, GTP_CHUNK_MAX
	div rcx
	imul rax, rax, GTP_CHUNK_MAX        ; from the chunk holding `offset`
	mov [gtp_dg_pos], rax
	mov rax, [gtp_dg_end]
	cmp rax, [gtp_dc_len]
	jbe .end_ok
	mov rax, [gtp_dc_len]
.end_ok:
	mov [gtp_dg_end], rax
.chunk:
	mov rax, [gtp_dg_pos]
	mov r14, [gtp_dg_end]
	sub r14, rax
	jbe .done
	mov rcx, [gtp_dc_len]
	sub rcx, rax
	cmp r14, rcx
	jbe .len_max
	mov r14, rcx
.len_max:
	cmp r14, GTP_CHUNK_MAX
	jbe .len_ok
	mov r14d, GTP_CHUNK_MAX
.len_ok:
	mov rsi, [gtp_dc_buf]
	add rsi, rax
	mov rdi, gtp_tx_payload + gtp_delta_pl_size
	mov rcx, r14
	rep movsb
	mov al, GTP_DELTA_ST_OK
	mov rcx, r14
	call gtp_delta_send
	jc .done                            ; no slot: the asker re-requests what is missing
	inc qword [gtp_delta_tx]
	add [gtp_dg_pos], r14
	jmp .chunk
.done:
	ret
.status:
	xor ecx, ecx
	call gtp_delta_send
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; gtp_delta_send -- (internal) One DELTA frame to the GET_DELTA's asker: the header fields from
; gtp_dg_* and the delta cache, the chunk (already at gtp_tx_payload + GTP_DELTA_FIXED) and its
; CRC-32. A status frame (not OK) carries offset 0, total 0 and no chunk.
;  IN:  AL = status, RCX = chunk bytes; gtp_dg_pos = the chunk's offset
;  OUT: CF = 0 sent; CF = 1 not sent
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gtp_delta_send:
	mov [gtp_tx_payload + gtp_delta_pl.status], al
	push rcx
	mov rsi, gtp_dg_hash
	mov rdi, gtp_tx_payload + gtp_delta_pl.hash
	mov ecx, HASH_SIZE
	rep movsb
	pop rcx
	mov eax, [gtp_dg_fid]
	mov [gtp_tx_payload + gtp_delta_pl.fid], eax
	mov al, [gtp_dc_type]
	mov [gtp_tx_payload + gtp_delta_pl.otype], al
	mov word [gtp_tx_payload + gtp_delta_pl.pad], 0
	mov rax, [gtp_dc_size]
	mov [gtp_tx_payload + gtp_delta_pl.size], rax
	xor eax, eax
	xor edx, edx
	cmp byte [gtp_tx_payload + gtp_delta_pl.status], GTP_DELTA_ST_OK
	jne .fields
	mov eax, [gtp_dg_pos]
	mov edx, [gtp_dc_len]
.fields:
	mov [gtp_tx_payload + gtp_delta_pl.offset], eax
	mov [gtp_tx_payload + gtp_delta_pl.total], edx
	push rcx
	mov rsi, gtp_tx_payload + gtp_delta_pl_size
	xor eax, eax
	call crc32_buffer
	mov [gtp_tx_payload + gtp_delta_pl.crc], eax
	pop rcx
	add ecx, gtp_delta_pl_size
	mov al, GTP_T_DELTA
	mov edx, [gtp_dg_ip]
	mov r8, net_rx_mac
	call gtp_send
	ret

; ---------------------------------------------------------------------------------------------
; gtp_delta_encode -- (internal) Fills the delta cache for (gtp_dg_hash, gtp_dg_base): status
; absent (the target is not stored here), full (not a blob, smaller than GTP_DELTA_MIN, the base
; not stored here, no cache, no arena room, or the delta is not at most 75 % of the blob and
; GTP_DELTA_MIN smaller), else OK with the delta in gtp_dc_buf. Both objects are read (and
; verified) through GitFS into the arena, released afterwards.
;  IN:  gtp_dg_hash, gtp_dg_base
;  OUT: gtp_dc_* (valid)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gtp_delta_encode:
	mov rsi, gtp_dg_hash
	mov rdi, gtp_dc_hash
	mov ecx, 2 * HASH_SIZE
	rep movsb
	mov byte [gtp_dc_valid], 0          ; only an encoding's verdict is kept
	mov byte [gtp_dc_status], GTP_DELTA_ST_ABSENT
	mov qword [gtp_dc_size], 0
	mov byte [gtp_dc_type], 0
	mov qword [gtp_dc_len], 0
	mov rsi, gtp_dc_hash
	call gtp_object_info
	jc .out
	mov [gtp_dc_size], rax
	mov [gtp_dc_type], dl
	mov byte [gtp_dc_status], GTP_DELTA_ST_FULL
	cmp dl, OBJ_BLOB
	jne .out
	cmp rax, GTP_DELTA_MIN
	jb .out
	cmp qword [gtp_dc_buf], 0
	je .out
	call watchdog_feed
	call gitfs_mark
	mov [gtp_dc_mark], rax
	mov rsi, gtp_dc_hash
	call gitfs_read_object
	jc .release
	cmp rcx, [gtp_dc_size]
	jne .release
	mov [gtp_dc_tgt], rax
	call watchdog_feed
	mov rsi, gtp_dc_base
	call gitfs_read_object
	jc .release
	mov [gtp_dc_src], rax
	mov [gtp_dc_src_len], rcx
	call watchdog_feed
	mov rcx, DELTA_INDEX_BYTES
	call gitfs_alloc
	jc .release
	mov r10, rax
	; capacity: min(cache, 3/4 of the blob, the blob - GTP_DELTA_MIN)
	mov r9, [gtp_dc_size]
	lea r9, [r9 + r9 * 2]
	shr r9, 2
	mov rax, [gtp_dc_size]
	sub rax, GTP_DELTA_MIN
	cmp r9, rax
	jbe .cap1
	mov r9, rax
.cap1:
	cmp r9, GTP_DELTA_CACHE_MAX
	jbe .cap2
	mov r9d, GTP_DELTA_CACHE_MAX
.cap2:
	mov rsi, [gtp_dc_src]
	mov rcx, [gtp_dc_src_len]
	mov rdx, [gtp_dc_tgt]
	mov r8, [gtp_dc_size]
	mov rdi, [gtp_dc_buf]
	call delta_encode
	mov byte [gtp_dc_valid], 1          ; (hash, base) -> this verdict, until the next pair
	jc .release
	mov [gtp_dc_len], rax
	mov byte [gtp_dc_status], GTP_DELTA_ST_OK
	inc qword [gtp_deltas_made]
.release:
	call watchdog_feed
	mov rax, [gtp_dc_mark]
	call gitfs_release
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_delta -- DELTA for the running delta fetch (its holder, fid and hash): a status frame
; ends the attempt; a chunk must sit where the delta's chunking puts it, have the length that
; place requires, fit the delta buffer and match its CRC-32 (else bad_chunk); a new chunk goes
; into the buffer and the bitmap. Every matching frame adds its bytes to gtp_d_wire.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
gtp_rx_delta:
	cmp byte [gtp_d_active], 0
	je .out
	mov eax, [rsi + gtp_hdr.sender]
	cmp eax, [gtp_d_node]
	jne .out
	mov eax, [rsi + gtp_hdr_size + gtp_delta_pl.fid]
	cmp eax, [gtp_d_fid]
	jne .out
	push rsi
	add rsi, gtp_hdr_size + gtp_delta_pl.hash
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	jne .out
	movzx eax, word [rsi + gtp_hdr.length]
	add rax, GTP_WIRE_OVERHEAD
	add [gtp_d_wire], rax
	mov al, [rsi + gtp_hdr_size + gtp_delta_pl.status]
	cmp al, GTP_DELTA_ST_OK
	je .chunk
	mov [gtp_d_status], al
	ret
.chunk:
	mov eax, [rsi + gtp_hdr_size + gtp_delta_pl.total]
	test eax, eax
	jz .bad
	cmp eax, GTP_DELTA_CACHE_MAX
	ja .bad
	mov rdx, [rsi + gtp_hdr_size + gtp_delta_pl.size]
	cmp rdx, GTP_OBJECT_MAX
	ja .bad
	movzx ecx, byte [rsi + gtp_hdr_size + gtp_delta_pl.otype]
	cmp byte [gtp_d_known], 0
	jne .known
	lea ebx, [ecx - 1]
	cmp ebx, OBJ_TAG - 1
	ja .bad
	mov [gtp_d_len], rax
	mov [gtp_d_size], rdx
	mov [gtp_d_type], cl
	add rax, GTP_CHUNK_MAX - 1
	xor edx, edx
	mov ebx, GTP_CHUNK_MAX
	div rbx
	mov [gtp_d_chunks], rax
	cmp [gtp_d_win_end], rax
	jbe .win_fits
	mov [gtp_d_win_end], rax            ; the first window: no further than the delta
.win_fits:
	mov byte [gtp_d_known], 1
	mov byte [gtp_d_status], GTP_DELTA_ST_OK
	jmp .place
.known:
	cmp rax, [gtp_d_len]
	jne .bad
	cmp rdx, [gtp_d_size]
	jne .bad
	cmp cl, [gtp_d_type]
	jne .bad
.place:
	mov eax, [rsi + gtp_hdr_size + gtp_delta_pl.offset]
	cmp rax, [gtp_d_len]
	jae .bad
	xor edx, edx
	mov ecx, GTP_CHUNK_MAX
	div rcx
	test rdx, rdx
	jnz .bad
	mov rbx, rax                        ; chunk index
	mov rcx, [gtp_d_len]                ; expected length: min(CHUNK_MAX, len - offset)
	mov eax, [rsi + gtp_hdr_size + gtp_delta_pl.offset]
	sub rcx, rax
	cmp rcx, GTP_CHUNK_MAX
	jbe .want
	mov ecx, GTP_CHUNK_MAX
.want:
	movzx eax, word [rsi + gtp_hdr.length]
	sub eax, gtp_delta_pl_size
	cmp rax, rcx
	jne .bad
	push rsi
	add rsi, gtp_hdr_size + gtp_delta_pl_size
	xor eax, eax
	call crc32_buffer
	pop rsi
	cmp eax, [rsi + gtp_hdr_size + gtp_delta_pl.crc]
	jne .bad
	bts [gtp_d_bitmap], rbx
	jc .out                             ; a duplicate
	inc qword [gtp_d_got]
	mov rdi, [gtp_d_buf]
	mov eax, [rsi + gtp_hdr_size + gtp_delta_pl.offset]
	add rdi, rax
	add rsi, gtp_hdr_size + gtp_delta_pl_size
	rep movsb
.out:
	ret
.bad:
	inc qword [gtp_bad_chunk]
	ret

; ---------------------------------------------------------------------------------------------
; gtp_fetch_based -- Fetches gtp_f_hash (as gtp_fetch_object), first as a git delta against
; gtp_f_base when that names an object this node stores: GET_DELTA to the first known holder
; (holder cache, else WHO_HAS), the delta's chunks into the arena, applied to the base into the
; fetch buffer, the result's SHA-1 checked, stored in GitFS (one transaction), HAVE to the
; group. An "absent" answer asks the next holder the cache names. A "full" answer, the last
; holder's "absent", silence (5 tries), or a delta that does not apply or hash (counted
; bad_delta) ends in the whole object fetched by gtp_fetch_object. The one entry
; point for fetching with a base: a zero gtp_f_base is a plain gtp_fetch_object.
;  IN:  gtp_f_hash, gtp_f_base (zero: none); the arena released (fs_begin)
;  OUT: as gtp_fetch_object; and gtp_d_used (0 no delta, 1 delta applied, 2 a bad delta
;       refused), gtp_d_len (the delta's bytes), gtp_d_wire (bytes of the GET_DELTA and DELTA
;       frames on the wire, Ethernet headers included), gtp_d_start (TSC at the start)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_fetch_based:
	call rdtsc64
	mov [gtp_d_start], rax
	mov byte [gtp_d_used], 0
	mov qword [gtp_d_wire], 0
	mov qword [gtp_d_len], 0
	mov qword [gtp_d_retx], 0
	mov qword [gtp_d_xfer_us], 0
	mov qword [gtp_d_apply_us], 0
	mov qword [gtp_f_store_us], 0
	mov rsi, gtp_f_base
	call gitfs_is_zero20
	jz .full
	mov rsi, gtp_f_hash
	call gtp_object_info
	jnc .full                           ; stored already: gtp_fetch_object says local
	cmp qword [gtp_fetch_buf], 0
	je .full
	mov rsi, gtp_f_base
	call gitfs_find
	jc .full
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .full
	mov rsi, gtp_f_hash
	call gtp_holder_find
	jnc .holder
	mov rsi, gtp_f_hash
	mov rdi, gtp_q_hash
	mov ecx, HASH_SIZE
	rep movsb
	call gtp_query
	mov rsi, gtp_f_hash
	call gtp_holder_find
	jc .full
.holder:
	mov rax, [rbx + gtp_holder.size]
	cmp rax, GTP_SIZE_UNKNOWN
	jne .size_said
	xor eax, eax                        ; (a synced referral: the DELTA frames say it)
.size_said:
	cmp rax, GTP_OBJECT_MAX
	ja .full
	mov [gtp_d_hint], rax
	mov eax, [rbx + gtp_holder.nodes]
	mov [gtp_d_node], eax
	mov eax, [rbx + gtp_holder.ips]
	mov [gtp_d_ip], eax
	call gitfs_mark
	mov [gtp_d_mark], rax
	mov rcx, GTP_DELTA_CACHE_MAX
	call gitfs_alloc
	jc .release_full
	mov [gtp_d_buf], rax
	mov dword [gtp_d_hidx], 0
.again:
	inc dword [gtp_fid_next]
	mov eax, [gtp_fid_next]
	mov [gtp_d_fid], eax
	mov rdi, gtp_d_bitmap
	xor eax, eax
	mov ecx, (GTP_DELTA_CHUNKS + 63) / 64 * 8
	rep stosb
	mov qword [gtp_d_got], 0
	mov qword [gtp_d_chunks], GTP_WINDOW_CHUNKS   ; until the first chunk tells
	mov qword [gtp_d_win], 0
	mov qword [gtp_d_win_end], GTP_WINDOW_CHUNKS
	mov qword [gtp_d_tries], 0
	mov byte [gtp_d_known], 0
	mov byte [gtp_d_status], GTP_DELTA_ST_NONE
	mov byte [gtp_d_active], 1
	call rdtsc64
	mov [gtp_d_xfer_us], rax            ; (TSC at the start; microseconds once done)
	call gtp_delta_window
	call gtp_delta_arm_first
.wait:
	mov rax, [gtp_d_got]
	mov [gtp_d_seen], rax
	call gtp_wait_step
	mov al, [gtp_d_status]
	cmp al, GTP_DELTA_ST_NONE
	je .no_answer
	cmp al, GTP_DELTA_ST_OK
	jne .holder_full
	mov rax, [gtp_d_got]
	cmp rax, [gtp_d_chunks]
	jae .complete
	cmp rax, [gtp_d_seen]
	je .no_answer
	mov qword [gtp_d_tries], 0          ; progress
	mov eax, GTP_WINDOW_MS
	call gtp_deadline
	mov [gtp_d_deadline], rax
	call gtp_delta_window_done
	jc .wait
	mov rax, [gtp_d_win_end]            ; the window is in: the next one
	mov [gtp_d_win], rax
	add rax, GTP_WINDOW_CHUNKS
	cmp rax, [gtp_d_chunks]
	jbe .win_ok
	mov rax, [gtp_d_chunks]
.win_ok:
	mov [gtp_d_win_end], rax
	call gtp_delta_window
	jmp .wait
.no_answer:
	call rdtsc64
	cmp rax, [gtp_d_deadline]
	jb .wait
	inc qword [gtp_d_tries]
	cmp qword [gtp_d_tries], GTP_WINDOW_TRIES
	jae .holder_full
	call gtp_delta_window               ; the window's missing runs again
	inc qword [gtp_d_retx]
	inc qword [gtp_retransmits]
	cmp qword [gtp_d_got], 0
	jne .rearm
	call gtp_delta_arm_first            ; nothing yet: the holder may still be encoding
	jmp .wait
.rearm:
	mov eax, GTP_WINDOW_MS
	call gtp_deadline
	mov [gtp_d_deadline], rax
	jmp .wait
.complete:
	mov byte [gtp_d_active], 0
	call rdtsc64
	mov [gtp_d_apply_us], rax
	sub rax, [gtp_d_xfer_us]
	call gtp_tsc_us
	mov [gtp_d_xfer_us], rax
	call watchdog_feed
	mov rsi, gtp_f_base
	call gitfs_read_object
	jc .release_full                    ; the base is not readable here after all
	mov rdx, rax
	mov r8, rcx
	mov rsi, [gtp_d_buf]
	mov rcx, [gtp_d_len]
	mov rdi, [gtp_fetch_buf]
	mov r9, [gtp_d_size]
	call gitfs_delta_apply
	jc .bad
	call watchdog_feed
	mov rsi, [gtp_fetch_buf]
	mov rcx, [gtp_d_size]
	mov dl, [gtp_d_type]
	mov rdi, gtp_f_digest
	call gitfs_hash_object
	jc .bad
	mov rsi, gtp_f_digest
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .bad
	call rdtsc64
	sub rax, [gtp_d_apply_us]
	call gtp_tsc_us
	mov [gtp_d_apply_us], rax
	; the result is the object asked for: store it as a fetch would
	mov rax, [gtp_d_mark]
	call gitfs_release
	mov rax, [gtp_d_size]
	mov [gtp_f_size], rax
	mov al, [gtp_d_type]
	mov [gtp_f_type], al
	mov eax, [gtp_d_node]
	mov [gtp_f_node], eax
	mov rax, [gtp_d_got]
	mov [gtp_f_got], rax
	mov rax, [gtp_d_retx]
	mov [gtp_f_retx], rax
	mov byte [gtp_d_used], 1
	call gtp_delta_store
	jc .fs_error
	mov eax, [gtp_d_node]
	clc
	ret
.fs_error:
	xor edx, edx
	stc
	ret
.bad:
	inc qword [gtp_bad_delta]
	mov byte [gtp_d_used], 2
	jmp .release_full
.holder_full:
	cmp byte [gtp_d_status], GTP_DELTA_ST_ABSENT
	jne .release_full
	; that holder does not store the target (yet: a node that synced from another may ask it
	; before it fetched): the next holder the cache names, with a new fid, the same buffer
	inc dword [gtp_d_hidx]
	mov rsi, gtp_f_hash
	call gtp_holder_find
	jc .release_full
	mov ecx, [gtp_d_hidx]
	movzx eax, byte [rbx + gtp_holder.count]
	cmp ecx, eax
	jae .release_full
	mov eax, [rbx + gtp_holder.nodes + rcx * 4]
	mov [gtp_d_node], eax
	mov eax, [rbx + gtp_holder.ips + rcx * 4]
	mov [gtp_d_ip], eax
	jmp .again
.release_full:
	mov byte [gtp_d_active], 0
	mov rax, [gtp_d_mark]
	call gitfs_release
.full:
	jmp gtp_fetch_object

; ---------------------------------------------------------------------------------------------
; gtp_delta_arm_first -- (internal) The first answer's deadline: GTP_DELTA_FIRST_MS plus
; GTP_DELTA_MS_PER_MIB per MiB of the object (the holder reads, verifies and encodes first).
;  IN:  gtp_d_hint (the object's size)
;  OUT: gtp_d_deadline
;  CLOBBERS: RAX, RDX
gtp_delta_arm_first:
	mov rax, [gtp_d_hint]
	shr rax, 20
	inc rax
	imul rax, rax, GTP_DELTA_MS_PER_MIB
	add rax, GTP_DELTA_FIRST_MS
	call gtp_deadline
	mov [gtp_d_deadline], rax
	ret

; ---------------------------------------------------------------------------------------------
; gtp_delta_window_done -- (internal) Are all chunks of the current window [gtp_d_win,
; gtp_d_win_end) in?
;  IN:  gtp_d_win, gtp_d_win_end, gtp_d_bitmap
;  OUT: CF = 0 yes; CF = 1 a chunk is missing
;  CLOBBERS: RAX
gtp_delta_window_done:
	mov rax, [gtp_d_win]
.chunk:
	cmp rax, [gtp_d_win_end]
	jae .yes
	bt [gtp_d_bitmap], rax
	jnc .no
	inc rax
	jmp .chunk
.yes:
	clc
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_delta_window -- (internal) GET_DELTA for every run of missing chunks of the current
; window (the whole window before the delta's size is known).
;  IN:  gtp_d_win, gtp_d_win_end, gtp_d_bitmap
;  OUT: nothing (gtp_d_wire counts what was sent)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
gtp_delta_window:
	mov r10, [gtp_d_win]
.skip:
	cmp r10, [gtp_d_win_end]
	jae .out
	bt [gtp_d_bitmap], r10
	jnc .run
	inc r10
	jmp .skip
.run:
	mov rbx, r10
.extend:
	inc r10
	cmp r10, [gtp_d_win_end]
	jae .send
	bt [gtp_d_bitmap], r10
	jnc .extend
.send:
	push r10
	mov rsi, gtp_f_hash
	mov rdi, gtp_tx_payload + gtp_get_delta_pl.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, gtp_f_base
	mov ecx, HASH_SIZE
	rep movsb                           ; .base follows .hash
	mov rax, rbx
	imul rax, rax, GTP_CHUNK_MAX
	mov [gtp_tx_payload + gtp_get_delta_pl.offset], eax
	mov rcx, r10
	sub rcx, rbx
	imul rcx, rcx, GTP_CHUNK_MAX
	mov [gtp_tx_payload + gtp_get_delta_pl.length], ecx
	mov eax, [gtp_d_fid]
	mov [gtp_tx_payload + gtp_get_delta_pl.fid], eax
	mov al, GTP_T_GET_DELTA
	mov ecx, gtp_get_delta_pl_size
	mov edx, [gtp_d_ip]
	xor r8d, r8d
	call gtp_send
	pop r10
	jc .skip
	add qword [gtp_d_wire], gtp_get_delta_pl_size + GTP_WIRE_OVERHEAD
	jmp .skip
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_delta_store -- (internal) Stores the verified object in the fetch buffer (one GitFS
; transaction) and multicasts HAVE: the end of gtp_fetch_object's path.
;  IN:  gtp_f_hash, gtp_f_digest (= gtp_f_hash), gtp_f_size, gtp_f_type; bytes at gtp_fetch_buf
;  OUT: CF = 0 stored; CF = 1 GitFS failed (gitfs_error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gtp_delta_store:
	call watchdog_feed
	call rdtsc64
	mov [gtp_f_store_us], rax
	mov rcx, [gtp_f_size]
	call gitfs_tx_begin
	jc .out
	mov dl, [gtp_f_type]
	mov rsi, [gtp_fetch_buf]
	mov rcx, [gtp_f_size]
	mov rdi, gtp_f_digest
	call gitfs_tx_put_hashed
	jc .out
	call gitfs_tx_publish
	jc .out
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	call rdtsc64
	sub rax, [gtp_f_store_us]
	call gtp_tsc_us
	mov [gtp_f_store_us], rax
	mov rsi, gtp_f_hash
	mov rdi, gtp_tx_payload + gtp_have.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rax, [gtp_f_size]
	mov [gtp_tx_payload + gtp_have.size], rax
	mov al, [gtp_f_type]
	mov [gtp_tx_payload + gtp_have.otype], al
	mov byte [gtp_tx_payload + gtp_have.pad], 0
	mov word [gtp_tx_payload + gtp_have.pad + 1], 0
	mov al, GTP_T_HAVE
	mov ecx, gtp_have_size
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call gtp_send
	clc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_delta_base_of -- The base for a new version of a file: the blob the commit's first parent
; held at the same path (what `policy` and `sync` pass to gtp_fetch_based). Reads through the
; arena (the caller's mark/release).
;  IN:  RSI = commit hash, RDI = path, RCX = path length (no '/' at either end)
;  OUT: CF = 0 and gtp_f_base = the blob's hash; CF = 1 none (no parent, no such path, not a
;       file, a read error): gtp_f_base zeroed
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_delta_base_of:
	mov [gtp_bo_path], rdi
	mov [gtp_bo_len], rcx
	call fs_first_parent                ; fs_hash = the parent
	jc .none
	mov rsi, fs_hash
	call gitfs_commit_tree              ; gitfs_tmp_hash = its tree
	jc .none
	mov rsi, gitfs_tmp_hash
	mov rdi, gtp_bo_tree
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, gtp_bo_tree
	mov rdi, [gtp_bo_path]
	mov rcx, [gtp_bo_len]
	call gitfs_lookup_path
	jc .none
	cmp al, GITFS_LOOKUP_ENTRY
	jne .none
	mov rax, r8
	and eax, 0o170000
	cmp eax, 0o100000                   ; a regular file (any permission bits)
	jne .none
	mov rsi, gitfs_tmp_hash
	mov rdi, gtp_f_base
	mov ecx, HASH_SIZE
	rep movsb
	clc
	ret
.none:
	mov rdi, gtp_f_base
	xor eax, eax
	mov ecx, HASH_SIZE
	rep stosb
	stc
	ret

; ---------------------------------------------------------------------------------------------
; delta_hints_commit -- The bases of a new branch commit's files: every regular file whose blob
; differs from the one the commit's first parent held at the same path, where this node
; stores that old blob, gets the hint (new blob -> old blob; delta_hint_add). Sync calls it for
; each branch commit it fetched; the placement loop fetches a hinted blob as a delta against
; its base (delta_hint_find). The two trees are compared pairwise from the roots: a subtree
; with the same hash on both sides is skipped, entries are paired by name. A read error, a
; pair stack past DH_PAIRS_MAX or a commit without a parent only means fewer hints.
;  IN:  RSI = commit hash (stored, as are the trees of it and of its first parent)
;  OUT: nothing (hints added)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
delta_hints_commit:
	call gitfs_mark
	mov [dh_mark], rax
	mov rdi, dh_commit
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, dh_commit
	call gitfs_commit_tree
	jc .out
	mov rsi, gitfs_tmp_hash
	mov rdi, dh_pairs
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, dh_commit
	call fs_first_parent
	jc .out
	mov rsi, fs_hash
	call gitfs_commit_tree
	jc .out
	mov rsi, gitfs_tmp_hash
	mov rdi, dh_pairs + HASH_SIZE
	mov ecx, HASH_SIZE
	rep movsb
	mov qword [dh_depth], 1
.pair:
	call watchdog_feed
	mov rax, [dh_mark]
	call gitfs_release
	mov rcx, [dh_depth]
	test rcx, rcx
	jz .out
	dec rcx
	mov [dh_depth], rcx
	imul rsi, rcx, 2 * HASH_SIZE
	add rsi, dh_pairs
	mov rdi, dh_new
	mov ecx, 2 * HASH_SIZE              ; dh_new, then dh_old
	rep movsb
	mov rsi, dh_new
	mov rdi, dh_old
	mov ecx, HASH_SIZE
	repe cmpsb
	je .pair                            ; the same subtree: nothing below it changed
	mov rsi, dh_new
	call gitfs_read_object
	jc .pair
	cmp dl, OBJ_TREE
	jne .pair
	mov [dh_n_ptr], rax
	add rax, rcx
	mov [dh_n_end], rax
	mov rsi, dh_old
	call gitfs_read_object
	jc .pair
	cmp dl, OBJ_TREE
	jne .pair
	mov [dh_o_ptr], rax
	add rax, rcx
	mov [dh_o_end], rax
	mov rsi, [dh_n_ptr]
.entry:
	mov rdx, [dh_n_end]
	call gitfs_tree_next
	jc .pair
	mov [dh_n_next], rsi
	mov [dh_e_mode], r8
	mov [dh_e_name], r9
	mov [dh_e_len], r10
	mov [dh_e_hash], r11
	mov rsi, [dh_o_ptr]
.old:
	mov rdx, [dh_o_end]
	call gitfs_tree_next
	jc .next_entry                      ; a new name: no previous version
	cmp r10, [dh_e_len]
	jne .old
	mov rbx, rsi
	mov rsi, r9
	mov rdi, [dh_e_name]
	mov rcx, r10
	repe cmpsb
	mov rsi, rbx
	jne .old
	; the same name: R8 = its old mode, R11 = its old hash
	mov rsi, r11
	mov rdi, [dh_e_hash]
	mov ecx, HASH_SIZE
	repe cmpsb
	je .next_entry                      ; unchanged
	mov rax, [dh_e_mode]
	cmp rax, 0o40000
	jne .file
	cmp r8, 0o40000
	jne .next_entry
	mov rcx, [dh_depth]
	cmp rcx, DH_PAIRS_MAX
	jae .next_entry
	imul rdi, rcx, 2 * HASH_SIZE
	add rdi, dh_pairs
	mov rsi, [dh_e_hash]
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, r11
	mov ecx, HASH_SIZE
	rep movsb
	inc qword [dh_depth]
	jmp .next_entry
.file:
	and eax, 0o170000
	cmp eax, 0o100000
	jne .next_entry
	mov rax, r8
	and eax, 0o170000
	cmp eax, 0o100000
	jne .next_entry
	mov [dh_e_old], r11
	mov rsi, r11
	call gitfs_find
	jc .next_entry
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .next_entry                      ; not stored here: no base for this node
	mov rsi, [dh_e_hash]
	mov rdi, [dh_e_old]
	call delta_hint_add
.next_entry:
	mov rsi, [dh_n_next]
	jmp .entry
.out:
	mov rax, [dh_mark]
	call gitfs_release
	ret

; ---------------------------------------------------------------------------------------------
; delta_hint_add -- Records (or renews) the base of a blob: DH_HINTS_MAX hints, the oldest
; replaced first.
;  IN:  RSI = the new blob's hash, RDI = its base's hash
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX
delta_hint_add:
	push rsi
	push rdi
	call delta_hint_slot
	jnc .put                            ; known: its base renewed
	mov eax, [dh_next]
	imul edx, eax, 2 * HASH_SIZE
	add rdx, dh_hints
	inc eax
	cmp eax, DH_HINTS_MAX
	jb .wrap
	xor eax, eax
.wrap:
	mov [dh_next], eax
	cmp dword [dh_n], DH_HINTS_MAX
	jae .put
	inc dword [dh_n]
.put:
	pop rax                             ; the base
	pop rsi                             ; the new blob
	push rsi
	push rdi
	mov rdi, rdx
	mov ecx, HASH_SIZE
	rep movsb
	mov rsi, rax
	mov ecx, HASH_SIZE
	rep movsb
	pop rdi
	pop rsi
	ret

; delta_hint_slot -- (internal) the hint of a blob: CF = 0 and RDX = its slot; CF = 1 none.
;  IN:  RSI = hash.  CLOBBERS: RAX, RCX, RDX
delta_hint_slot:
	push rdi
	xor eax, eax
.look:
	cmp eax, [dh_n]
	jae .none
	imul edx, eax, 2 * HASH_SIZE
	add rdx, dh_hints
	push rsi
	mov rdi, rdx
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .found
	inc eax
	jmp .look
.found:
	pop rdi
	clc
	ret
.none:
	pop rdi
	stc
	ret

; ---------------------------------------------------------------------------------------------
; delta_hint_find -- The base recorded for a blob (delta_hints_commit), when this node still
; stores it.
;  IN:  RSI = hash
;  OUT: CF = 0 and gtp_f_base = the base; CF = 1 none (gtp_f_base untouched)
;  CLOBBERS: RAX, RCX, RDX, RDI
delta_hint_find:
	call delta_hint_slot
	jc .out
	push rsi
	lea rsi, [rdx + HASH_SIZE]
	push rsi
	call gitfs_find
	pop rsi
	jc .gone
	cmp byte [rdi + gitfs_idx_entry.storage], STORE_REFERRAL
	je .gone
	mov rdi, gtp_f_base
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	clc
	ret
.gone:
	pop rsi
	stc
.out:
	ret

; ---------------------------------------------------------------------------------------------
; cmd_fetch_based -- `fetch HASH [BASE]`: without BASE, `fetch` (cmd_fetch). BASE is the hash
; of an object this node stores, or a path (/BRANCH/path: the file there now) whose blob is
; the previous version. Answers `EVENT fetch hash=... size=N type=T from=NODE|local us=T
; chunks=N retransmits=N delta=yes|no|bad delta_bytes=N wire=N` (wire: bytes of the delta
; exchange's frames; delta=no: the holder said full or absent, or did not answer, and the
; object came whole; bad: a delta was refused and the object came whole), then
; `delta_xfer_us=T apply_us=T store_us=T` (from the first GET_DELTA to the last chunk, which
; includes the holder's reading and encoding; reading the base, applying, hashing; storing).
; Errors as `fetch`.
;  IN:  RSI = arguments
;  OUT: CF = 0 stored; CF = 1 error printed
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
cmd_fetch_based:
	mov r12, rsi
	cmp byte [net_up], 0
	je .plain
	mov rdi, gtp_f_hash
	call gtp_parse_hash
	jc .plain                           ; cmd_fetch says usage
.space:
	cmp byte [rsi], ' '
	jne .arg
	inc rsi
	jmp .space
.arg:
	cmp byte [rsi], 0
	je .plain
	call fs_begin
	jc .out
	cmp byte [rsi], '/'
	je .path
	mov rdi, gtp_f_base
	call gitfs_parse_hex20
	jc .usage
	cmp byte [rsi], 0
	jne .usage
	jmp .fetch
.path:
	call fs_resolve
	jc fs_fail
	cmp byte [fs_kind], FS_ENTRY
	jne .usage
	mov rsi, fs_hash
	mov rdi, gtp_f_base
	mov ecx, HASH_SIZE
	rep movsb
	call fs_begin
	jc .out
.fetch:
	call gtp_fetch_based
	jc .failed
	mov r12d, eax
	mov rsi, gtp_f_hash
	call pol_pin                        ; asked for here, as `fetch HASH`: the placement keeps it
	mov rbx, [gtp_d_start]
	call gtp_fetch_event_begin
	mov rsi, str_gd_key_delta
	movzx eax, byte [gtp_d_used]
	mov rdx, [gtp_gd_used_names + rax * 8]
	call event_kv_str
	mov rsi, str_gd_key_delta_bytes
	mov rax, [gtp_d_len]
	call event_kv_dec
	mov rsi, str_gd_key_wire
	mov rax, [gtp_d_wire]
	call event_kv_dec
	mov rsi, str_gd_key_xfer_us
	mov rax, [gtp_d_xfer_us]
	call event_kv_dec
	mov rsi, str_gd_key_apply_us
	mov rax, [gtp_d_apply_us]
	call event_kv_dec
	mov rsi, str_gtp_key_store_us
	mov rax, [gtp_f_store_us]
	call event_kv_dec
	call event_end
	clc
.out:
	ret
.failed:
	test rdx, rdx
	jz fs_fail
	jmp shell_error
.usage:
	mov rdx, str_usage
	jmp shell_error
.plain:
	mov rsi, r12
	jmp cmd_fetch

; ---------------------------------------------------------------------------------------------
; cmd_delta -- `delta BASE TARGET` (two object hashes this node stores): encodes TARGET as a git
; delta against BASE with delta_encode and prints it: `EVENT delta base=... target=...
; base_size=N size=N bytes=N us=T` (bytes: the delta's; us: the encoding's), then the delta as
; `EVENT data size=N` + bytes. What GET_DELTA serves, for checking against git and gitfs/.
;  IN:  RSI = arguments
;  OUT: CF = 0; CF = 1 error printed (usage, GitFS's)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
cmd_delta:
	mov rdi, gtp_dg_base
	call gitfs_parse_hex20
	jc .usage
	cmp byte [rsi], ' '
	jne .usage
	inc rsi
	mov rdi, gtp_dg_hash
	call gitfs_parse_hex20
	jc .usage
	cmp byte [rsi], 0
	jne .usage
	call fs_begin
	jc .out
	mov rsi, gtp_dg_base
	call gitfs_read_object
	jc fs_fail
	mov [gtp_dc_src], rax
	mov [gtp_dc_src_len], rcx
	mov rsi, gtp_dg_hash
	call gitfs_read_object
	jc fs_fail
	mov [gtp_dc_tgt], rax
	mov [gtp_cd_size], rcx
	mov rcx, DELTA_INDEX_BYTES
	call gitfs_alloc
	jc fs_fail
	mov r10, rax
	mov rcx, [gtp_cd_size]              ; room for all inserts: 128 bytes per 127, and headers
	mov r9, rcx
	shr rcx, 6
	lea r9, [r9 + rcx + 64]
	mov rcx, r9
	call gitfs_alloc
	jc fs_fail
	mov [gtp_cd_out], rax
	push r10
	call rdtsc64
	mov [gtp_cd_t0], rax
	pop r10
	mov rsi, [gtp_dc_src]
	mov rcx, [gtp_dc_src_len]
	mov rdx, [gtp_dc_tgt]
	mov r8, [gtp_cd_size]
	mov rdi, [gtp_cd_out]
	call delta_encode
	jc .usage                           ; (cannot happen: the room covers the worst case)
	mov [gtp_cd_len], rax
	mov rsi, str_ev_delta
	call event_begin
	mov rsi, str_gd_key_base
	call event_key
	mov rsi, gtp_dg_base
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gd_key_target
	call event_key
	mov rsi, gtp_dg_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gd_key_base_size
	mov rax, [gtp_dc_src_len]
	call event_kv_dec
	mov rsi, str_key_size
	mov rax, [gtp_cd_size]
	call event_kv_dec
	mov rsi, str_gd_key_bytes
	mov rax, [gtp_cd_len]
	call event_kv_dec
	mov rsi, str_gtp_key_us
	call rdtsc64
	sub rax, [gtp_cd_t0]
	call gtp_tsc_us
	call event_kv_dec
	call event_end
	mov rsi, str_ev_data
	call event_begin
	mov rsi, str_key_size
	mov rax, [gtp_cd_len]
	call event_kv_dec
	call event_end
	mov rsi, [gtp_cd_out]
	mov rcx, [gtp_cd_len]
	call fs_put_bytes
	clc
.out:
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error

align 8
gtp_gd_used_names:   dq str_gd_no, str_gd_yes, str_gd_bad
str_gd_no:           db "no", 0
str_ev_delta:        db "delta", 0
str_gd_key_base:     db "base", 0
str_gd_key_target:   db "target", 0
str_gd_key_base_size: db "base_size", 0
str_gd_key_bytes:    db "bytes", 0
str_gd_yes:          db "yes", 0
str_gd_bad:          db "bad", 0
str_gd_key_delta:    db "delta", 0
str_gd_key_delta_bytes: db "delta_bytes", 0
str_gd_key_wire:     db "wire", 0
str_gd_key_xfer_us:  db "delta_xfer_us", 0
str_gd_key_apply_us: db "apply_us", 0
str_gc_bad_delta:    db "bad_delta", 0
str_gc_deltas_made:  db "deltas_made", 0
str_gc_delta_tx:     db "delta_tx", 0

	section .bss
	alignb 8
gtp_dc_buf:         resq 1              ; the delta cache (GTP_DELTA_CACHE_MAX; 0: none)
gtp_dc_len:         resq 1
gtp_dc_size:        resq 1              ; the target's size
gtp_dc_mark:        resq 1
gtp_dc_tgt:         resq 1
gtp_dc_src:         resq 1
gtp_dc_src_len:     resq 1
gtp_dg_pos:         resq 1
gtp_dg_end:         resq 1
gtp_d_start:        resq 1
gtp_d_wire:         resq 1
gtp_d_len:          resq 1
gtp_d_size:         resq 1
gtp_d_hint:         resq 1
gtp_d_mark:         resq 1
gtp_d_buf:          resq 1
gtp_d_got:          resq 1
gtp_d_chunks:       resq 1
gtp_d_win:          resq 1
gtp_d_win_end:      resq 1
gtp_d_tries:        resq 1
gtp_d_retx:         resq 1
gtp_d_deadline:     resq 1
gtp_d_seen:         resq 1
gtp_d_xfer_us:      resq 1
gtp_d_apply_us:     resq 1
gtp_bo_path:        resq 1
gtp_bo_len:         resq 1
gtp_cd_size:        resq 1
gtp_cd_out:         resq 1
gtp_cd_len:         resq 1
gtp_cd_t0:          resq 1
gtp_bad_delta:      resq 1              ; deltas refused (did not apply or hash)
gtp_deltas_made:    resq 1              ; deltas encoded for a GET_DELTA
gtp_delta_tx:       resq 1              ; DELTA chunks sent
gtp_dg_fid:         resd 1
gtp_dg_ip:          resd 1
gtp_d_fid:          resd 1
gtp_d_node:         resd 1
gtp_d_hidx:         resd 1              ; the holder asked: its index in the holder cache entry
gtp_d_ip:           resd 1
gtp_dc_valid:       resb 1
gtp_dc_status:      resb 1
gtp_dc_type:        resb 1
gtp_d_active:       resb 1
gtp_d_known:        resb 1
gtp_d_status:       resb 1
gtp_d_type:         resb 1
gtp_d_used:         resb 1
gtp_dg_hash:        resb HASH_SIZE      ; the GET_DELTA being answered: hash, then base
gtp_dg_base:        resb HASH_SIZE
gtp_dc_hash:        resb HASH_SIZE      ; the delta cache's (hash, base)
gtp_dc_base:        resb HASH_SIZE
gtp_f_base:         resb HASH_SIZE      ; the fetch's base (zero: none)
gtp_bo_tree:        resb HASH_SIZE
	alignb 8
gtp_d_bitmap:       resq (GTP_DELTA_CHUNKS + 63) / 64
dh_mark:            resq 1
dh_depth:           resq 1
dh_n_ptr:           resq 1
dh_n_end:           resq 1
dh_o_ptr:           resq 1
dh_o_end:           resq 1
dh_n_next:          resq 1
dh_e_mode:          resq 1
dh_e_name:          resq 1
dh_e_len:           resq 1
dh_e_hash:          resq 1
dh_e_old:           resq 1
dh_n:               resd 1              ; hints held
dh_next:            resd 1              ; the slot the next new hint takes
dh_commit:          resb HASH_SIZE
dh_new:             resb HASH_SIZE      ; the pair being compared: the new tree,
dh_old:             resb HASH_SIZE      ;   then the old one (contiguous)
dh_pairs:           resb DH_PAIRS_MAX * 2 * HASH_SIZE
dh_hints:           resb DH_HINTS_MAX * 2 * HASH_SIZE
	section .text
