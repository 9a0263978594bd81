; gtp_fetch.asm -- finding and moving objects over GTP (docs/protocol.md, "Behaviour"):
; WHO_HAS / I_HAVE on the group with the holder cache, GET / DATA / NOT_HERE unicast served
; from GitFS, HAVE after a fetch, and the shell's `whohas HASH` and `fetch HASH`.
; A fetch lands in a buffer reserved at the top of RAM (net_reserve), hashed as its chunks
; arrive in order. A GET is served by reading only the sectors its window covers, straight
; from the object's raw log record (the fetcher verifies the whole object before it stores
; anything); an object stored as a delta is materialised once (small ones only, up to
; GTP_DELTA_SERVE_MAX, verified by GitFS) into the serve cache, also reserved there.

GTP_OBJECT_MAX      equ 0x1000000       ; 16 MiB: the largest object fetched or served
GTP_RESERVE_FLOOR   equ 0x2000000       ; GitFS keeps at least 32 MiB of arena
GTP_HOLDER_SLOTS    equ 32              ; holder cache entries (hashes)
GTP_SIZE_UNKNOWN    equ -1              ; a holder entry's size when no holder said it (a synced referral)
GTP_HOLDERS_MAX     equ 8               ; holders per hash
GTP_ANSWER_SLOTS    equ 8               ; delayed I_HAVE answers
GTP_ASKED_SLOTS     equ 32              ; (asker, qid) pairs already answered
GTP_QUERY_ANSWERS   equ 8
GTP_QUERY_MS        equ 200             ; a WHO_HAS round
GTP_QUERY_TRIES     equ 3
GTP_QUERY_SETTLE_MS equ 10              ; a fetch's round after its first answer (delays <= 7 ms)
GTP_WINDOW_MS       equ 100             ; a GET window not complete by then is re-requested
GTP_WINDOW_TRIES    equ 5               ; silent tries on one holder before the next
GTP_DELTA_SERVE_MAX equ 0x100000        ; 1 MiB: the largest delta-stored object served
GTP_PIPELINE        equ 4               ; GET windows a fetch keeps in flight
GTP_CHUNKS_MAX      equ (GTP_OBJECT_MAX + GTP_CHUNK_MAX - 1) / GTP_CHUNK_MAX
GTP_WINDOW_CHUNKS   equ GTP_GET_MAX / GTP_CHUNK_MAX

struc gtp_holder
  .hash             resb HASH_SIZE
  .count            resb 1
  .otype            resb 1
  .pad              resw 1
  .size             resq 1
  .stamp            resq 1
  .nodes            resd GTP_HOLDERS_MAX
  .ips              resd GTP_HOLDERS_MAX
endstruc

struc gtp_answer
  .due              resq 1              ; ticks; 0 = free
  .asker            resd 1
  .qid              resd 1
  .size             resq 1
  .otype            resb 1
  .pad              resb 3
  .hash             resb HASH_SIZE
endstruc

; ---------------------------------------------------------------------------------------------
; net_reserve -- Takes the fetch buffer (GTP_OBJECT_MAX) and the serve cache for deltas
; (GTP_DELTA_SERVE_MAX) from the top of RAM, before GitFS sizes its arena; without a NIC, or with too little RAM, there are none (and
; mem_top stays: a node without a network boots as before).
;  IN:  mem_top (mem_init), net_up (net_init)
;  OUT: gtp_fetch_buf, gtp_serve_buf (0: none); mem_top lowered
;  CLOBBERS: RAX
net_reserve:
	cmp byte [net_up], 0
	je .none
	mov rax, [mem_top]
	sub rax, GTP_OBJECT_MAX + GTP_DELTA_SERVE_MAX
	jb .none
	cmp rax, FS_ARENA_ADDR + GTP_RESERVE_FLOOR
	jb .none
	mov [mem_top], rax
	mov [gtp_fetch_buf], rax
	add rax, GTP_OBJECT_MAX
	mov [gtp_serve_buf], rax
.none:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_serve_load -- Makes an object this node stores as a delta the serve cache's, read and
; verified through GitFS (raw objects are served from their record: gtp_rx_get).
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0: gtp_serve_size, gtp_serve_type, bytes at [gtp_serve_buf]; CF = 1 not held
;       (absent, referral, unreadable, larger than GTP_DELTA_SERVE_MAX, no buffer)
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8-R11
gtp_serve_load:
	cmp byte [gtp_serve_valid], 0
	je .load
	mov rdi, gtp_serve_hash
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .hit
.load:
	cmp byte [fs_mounted], 0
	je .miss
	cmp qword [gtp_serve_buf], 0
	je .miss
	mov byte [gtp_serve_valid], 0
	call gitfs_mark
	push rax
	push rsi
	call gitfs_read_object
	pop rsi
	jc .release_miss
	cmp rcx, GTP_DELTA_SERVE_MAX
	ja .release_miss
	mov [gtp_serve_size], rcx
	mov [gtp_serve_type], dl
	push rsi
	mov rsi, rax
	mov rdi, [gtp_serve_buf]
	rep movsb
	pop rsi
	mov rdi, gtp_serve_hash
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov byte [gtp_serve_valid], 1
	pop rax
	call gitfs_release
.hit:
	clc
	ret
.release_miss:
	pop rax
	call gitfs_release
.miss:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_object_servable -- gtp_object_info for an object this node serves: stored raw, or as a
; delta of at most GTP_DELTA_SERVE_MAX bytes (a larger delta would block the main loop while
; it is materialised: docs/decisions.md).
;  IN:  RSI = 20-byte hash
;  OUT: as gtp_object_info
;  CLOBBERS: RBX, RCX, RDI
gtp_object_servable:
	call gtp_object_info
	jc .out
	cmp byte [gtp_info_storage], STORE_RAW
	je .ok
	cmp rax, GTP_DELTA_SERVE_MAX
	ja .no
.ok:
	clc
.out:
	ret
.no:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_object_info -- Size and type of an object this node stores (not a referral), from its log
; record header (one sector): what an I_HAVE needs, without reading the object.
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0, RAX = size, DL = type; CF = 1 not held (absent, referral, record unreadable or
;       not matching the index, a raw record whose payload is not the object's size)
;  OUT: (also) gtp_info_hash/size/type/storage/pos (where a raw object's content starts on
;       disk): a one-entry cache
;  CLOBBERS: RBX, RCX, RDI
gtp_object_info:
	cmp byte [gtp_info_valid], 0        ; the last object asked about (objects never change)
	je .lookup
	mov rdi, gtp_info_hash
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	jne .lookup
	mov rax, [gtp_info_size]
	mov dl, [gtp_info_type]
	clc
	ret
.lookup:
	mov byte [gtp_info_valid], 0
	cmp byte [fs_mounted], 0
	je .miss
	call gitfs_find
	jc .miss
	mov al, [rdi + gitfs_idx_entry.storage]
	cmp al, STORE_REFERRAL
	je .miss
	mov [gtp_info_storage], al
	mov dl, [rdi + gitfs_idx_entry.type]
	mov rbx, [rdi + gitfs_idx_entry.offset]
	lea rax, [rbx + REC_HDR_SIZE]
	mov [gtp_info_pos], rax
	push rdx
	mov rax, rbx
	shr rax, SECTOR_SHIFT
	mov ecx, 1
	mov rdi, gtp_rec_sector
	call ata_read                       ; quiet: a failed read is a miss
	pop rdx
	jc .miss
	and ebx, SECTOR_SIZE - 1
	lea rdi, [gtp_rec_sector + rbx]     ; the record header (64-byte aligned: in this sector)
	cmp dword [rdi + gitfs_rec.magic], REC_MAGIC
	jne .miss
	cmp [rdi + gitfs_rec.type], dl
	jne .miss
	push rsi
	push rdi
	lea rdi, [rdi + gitfs_rec.hash]
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rdi
	pop rsi
	jne .miss
	mov rax, [rdi + gitfs_rec.object_size]
	cmp rax, GTP_OBJECT_MAX
	ja .miss                            ; larger than this node serves
	cmp byte [gtp_info_storage], STORE_RAW
	jne .sized
	cmp rax, [rdi + gitfs_rec.payload_len]
	jne .miss                           ; a raw record holds exactly the content
.sized:
	mov [gtp_info_size], rax
	mov [gtp_info_type], dl
	mov rdi, gtp_info_hash
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov byte [gtp_info_valid], 1
	clc
	ret
.miss:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_holder_find -- The holder cache entry of a hash.
;  IN:  RSI = 20-byte hash
;  OUT: CF = 0 and RBX = the entry; CF = 1 absent (RBX = a free or the oldest entry)
;  CLOBBERS: RAX, RCX, RDX, RDI
gtp_holder_find:
	xor eax, eax
	mov rdx, -1
	mov rbx, gtp_holder_cache
.scan:
	lea rdi, [gtp_holder_cache + rax]
	push rsi
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	je .hit
	lea rdi, [gtp_holder_cache + rax]
	mov rcx, [rdi + gtp_holder.stamp]
	cmp byte [rdi + gtp_holder.count], 0
	jne .used
	xor ecx, ecx
.used:
	cmp rcx, rdx
	jae .next
	mov rdx, rcx
	mov rbx, rdi
.next:
	add eax, gtp_holder_size
	cmp eax, GTP_HOLDER_SLOTS * gtp_holder_size
	jb .scan
	stc
	ret
.hit:
	lea rbx, [gtp_holder_cache + rax]
	cmp byte [rbx + gtp_holder.count], 0
	je .empty
	clc
	ret
.empty:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_holder_add -- Records that a node holds an object (I_HAVE or HAVE heard).
;  IN:  RSI = 20-byte hash, R8 = size, R9B = object type; the frame's sender in
;       [gtp_rx_frame], its address in net_rx_src_ip
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI
gtp_holder_add:
	call gtp_holder_find
	jnc .have_entry
	mov rdi, rbx
	push rsi
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov byte [rbx + gtp_holder.count], 0
.have_entry:
	mov [rbx + gtp_holder.size], r8
	mov [rbx + gtp_holder.otype], r9b
	mov rax, [ticks]
	mov [rbx + gtp_holder.stamp], rax
	mov rax, [gtp_rx_frame]
	mov eax, [rax + gtp_hdr.sender]
	movzx ecx, byte [rbx + gtp_holder.count]
	xor edx, edx
.dup:
	cmp edx, ecx
	jae .append
	cmp [rbx + gtp_holder.nodes + rdx * 4], eax
	je .set_ip
	inc edx
	jmp .dup
.append:
	cmp ecx, GTP_HOLDERS_MAX
	jae .out                            ; full: the first eight are enough
	inc byte [rbx + gtp_holder.count]
	mov [rbx + gtp_holder.nodes + rdx * 4], eax
.set_ip:
	mov eax, [net_rx_src_ip]
	mov [rbx + gtp_holder.ips + rdx * 4], eax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_who_has -- WHO_HAS: a node that stores the object answers I_HAVE on the group after
; (node number mod 8) ms, at most once per (asker, qid).
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11
gtp_rx_who_has:
	mov eax, [rsi + gtp_hdr.sender]
	mov edx, [rsi + gtp_hdr_size + gtp_who_has.qid]
	xor ecx, ecx
.asked:
	cmp [gtp_asked + rcx * 8], eax
	jne .asked_next
	cmp [gtp_asked + rcx * 8 + 4], edx
	je .out                             ; answered already
.asked_next:
	inc ecx
	cmp ecx, GTP_ASKED_SLOTS
	jb .asked
	push rsi
	add rsi, gtp_hdr_size + gtp_who_has.hash
	call gtp_object_servable
	pop rsi
	jc .out                             ; not ours (or not servable): silence
	mov [gtp_ans_size], rax
	mov [gtp_ans_type], dl
	; a free answer slot
	xor ebx, ebx
.slot:
	cmp qword [gtp_answers + rbx + gtp_answer.due], 0
	je .free
	add ebx, gtp_answer_size
	cmp ebx, GTP_ANSWER_SLOTS * gtp_answer_size
	jb .slot
	ret                                 ; all busy: the asker retries
.free:
	lea rbx, [gtp_answers + rbx]
	mov eax, [rsi + gtp_hdr.sender]
	mov [rbx + gtp_answer.asker], eax
	mov edx, [rsi + gtp_hdr_size + gtp_who_has.qid]
	mov [rbx + gtp_answer.qid], edx
	mov ecx, [gtp_asked_next]           ; remember (asker, qid)
	mov [gtp_asked + rcx * 8], eax
	mov [gtp_asked + rcx * 8 + 4], edx
	inc ecx
	cmp ecx, GTP_ASKED_SLOTS
	jb .asked_ok
	xor ecx, ecx
.asked_ok:
	mov [gtp_asked_next], ecx
	mov rax, [gtp_ans_size]
	mov [rbx + gtp_answer.size], rax
	mov al, [gtp_ans_type]
	mov [rbx + gtp_answer.otype], al
	lea rdi, [rbx + gtp_answer.hash]
	add rsi, gtp_hdr_size + gtp_who_has.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov eax, [net_node]
	and eax, 7
	add rax, [ticks]
	or rax, 1                           ; never 0 (0 marks a free slot)
	mov [rbx + gtp_answer.due], rax
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_answer_due -- Sends the I_HAVE answers whose delay has passed.
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9, R15
gtp_answer_due:
	xor r15d, r15d
.slot:
	mov rax, [gtp_answers + r15 + gtp_answer.due]
	test rax, rax
	jz .next
	cmp rax, [ticks]
	ja .next
	lea rsi, [gtp_answers + r15 + gtp_answer.hash]
	mov rdi, gtp_tx_payload + gtp_i_have.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov eax, [gtp_answers + r15 + gtp_answer.qid]
	mov [gtp_tx_payload + gtp_i_have.qid], eax
	mov rax, [gtp_answers + r15 + gtp_answer.size]
	mov [gtp_tx_payload + gtp_i_have.size], rax
	mov al, [gtp_answers + r15 + gtp_answer.otype]
	mov [gtp_tx_payload + gtp_i_have.otype], al
	mov byte [gtp_tx_payload + gtp_i_have.pad], 0
	mov word [gtp_tx_payload + gtp_i_have.pad + 1], 0
	mov qword [gtp_answers + r15 + gtp_answer.due], 0
	mov al, GTP_T_I_HAVE
	mov ecx, gtp_i_have_size
	mov edx, NET_GROUP_N
	xor r8d, r8d
	call gtp_send
	jc .next
	inc qword [gtp_i_have_sent]
.next:
	add r15d, gtp_answer_size
	cmp r15d, GTP_ANSWER_SLOTS * gtp_answer_size
	jb .slot
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_i_have -- I_HAVE: the holder cache learns the sender; an answer to our running query
; (same qid and hash) is recorded with its time.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8, R9
gtp_rx_i_have:
	mov r8, [rsi + gtp_hdr_size + gtp_i_have.size]
	mov r9b, [rsi + gtp_hdr_size + gtp_i_have.otype]
	push rsi
	add rsi, gtp_hdr_size + gtp_i_have.hash
	call gtp_holder_add
	pop rsi
	cmp byte [gtp_q_active], 0
	je .out
	mov eax, [rsi + gtp_hdr_size + gtp_i_have.qid]
	cmp eax, [gtp_q_qid]
	jne .out
	push rsi
	add rsi, gtp_hdr_size + gtp_i_have.hash
	mov rdi, gtp_q_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
	jne .out
	mov ecx, [gtp_q_count]
	cmp ecx, GTP_QUERY_ANSWERS
	jae .out
	inc dword [gtp_q_count]
	shl ecx, 5
	lea rdi, [gtp_q_answers + rcx]
	mov eax, [rsi + gtp_hdr.sender]
	mov [rdi], eax
	mov eax, [net_rx_src_ip]
	mov [rdi + 4], eax
	mov rax, [rsi + gtp_hdr_size + gtp_i_have.size]
	mov [rdi + 8], rax
	movzx eax, byte [rsi + gtp_hdr_size + gtp_i_have.otype]
	mov [rdi + 16], rax
	push rdx
	call rdtsc64
	pop rdx
	sub rax, [gtp_q_start]
	mov [rdi + 24], rax                 ; TSC ticks after the query left
	; the answer of the node a fetch prefers (a COMMIT's sender, which holds the whole tree)
	; ends a settling round at once: the fetch asks that node first anyway
	cmp byte [gtp_q_settle], 0
	je .out
	mov eax, [rsi + gtp_hdr.sender]
	test eax, eax
	jz .out
	cmp eax, [gtp_q_prefer]
	jne .out
	mov qword [gtp_q_deadline], 0       ; passed: gtp_query's round is over
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_have -- HAVE: the sender now holds the object (holder cache).
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RDI, R8, R9
gtp_rx_have:
	mov r8, [rsi + gtp_hdr_size + gtp_have.size]
	mov r9b, [rsi + gtp_hdr_size + gtp_have.otype]
	add rsi, gtp_hdr_size + gtp_have.hash
	jmp gtp_holder_add

; ---------------------------------------------------------------------------------------------
; gtp_rx_get -- GET: the window [offset, offset + length) of a stored object as DATA chunks,
; in order, straight back to the asker; NOT_HERE for an object this node does not store (or
; serve, or cannot read). A raw object's window is read from its log record: only the sectors
; the window covers, not verified here (the fetcher checks the whole object's SHA-1 before it
; stores anything; a corrupt record shows there as bad_object).
;  IN:  RSI = frame; net_rx_src_ip, net_rx_mac
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R11, R14
gtp_rx_get:
	mov eax, [rsi + gtp_hdr_size + gtp_get.length]
	test eax, eax
	jz .size
	cmp eax, GTP_GET_MAX
	ja .size
	mov [gtp_get_end], rax
	mov rax, [rsi + gtp_hdr_size + gtp_get.offset]
	mov [gtp_get_pos], rax
	mov eax, [rsi + gtp_hdr_size + gtp_get.fid]
	mov [gtp_get_fid], eax
	mov eax, [net_rx_src_ip]
	mov [gtp_get_ip], eax
	push rsi
	add rsi, gtp_hdr_size + gtp_get.hash
	mov rdi, gtp_get_hash
	mov ecx, HASH_SIZE
	rep movsb
	pop rsi
	mov rsi, gtp_get_hash
	call gtp_object_servable
	jc .not_here
	mov [gtp_gw_size], rax
	mov [gtp_gw_type], dl
	mov rax, [gtp_get_pos]
	cmp rax, [gtp_gw_size]
	jb .in_range
	test rax, rax
	jnz .size                           ; a window past the end
	; offset 0 of an empty object: one DATA with an empty chunk (nothing to read)
	mov [gtp_get_end], rax
	call rdtsc64
	mov [gtp_serve_start], rax
	jmp .chunk
.in_range:
	add rax, [gtp_get_end]              ; end = min(offset + length, total)
	cmp rax, [gtp_gw_size]
	jbe .end_ok
	mov rax, [gtp_gw_size]
.end_ok:
	mov [gtp_get_end], rax
	call rdtsc64
	mov [gtp_serve_start], rax
	cmp byte [gtp_info_storage], STORE_RAW
	jne .delta
	; raw: the sectors holding content bytes [pos, end), straight from the record
	mov rax, [gtp_info_pos]
	add rax, [gtp_get_pos]              ; the window's first byte on disk
	mov rcx, [gtp_info_pos]
	add rcx, [gtp_get_end]
	add rcx, SECTOR_SIZE - 1
	shr rcx, SECTOR_SHIFT               ; the sector after its last byte
	mov rdx, rax
	and edx, SECTOR_SIZE - 1
	shr rax, SECTOR_SHIFT
	sub rcx, rax
	mov rdi, gtp_win_buf
	push rax
	push rdx
	call rdtsc64
	mov [gtp_serve_t0], rax
	pop rdx
	pop rax
	call ata_read                       ; quiet: a failed read is a NOT_HERE
	jc .not_here
	push rdx
	call rdtsc64
	sub rax, [gtp_serve_t0]
	add [gtp_serve_disk_tsc], rax
	pop rdx
	lea rax, [gtp_win_buf + rdx]
	sub rax, [gtp_get_pos]
	mov [gtp_get_src], rax              ; object byte p is at [gtp_get_src + p]
	jmp .chunk
.delta:
	mov rsi, gtp_get_hash
	call gtp_serve_load
	jc .not_here
	mov rax, [gtp_serve_buf]
	mov [gtp_get_src], rax
.chunk:
	mov rax, [gtp_get_pos]
	mov rcx, [gtp_get_end]
	sub rcx, rax
	jb .done
	jnz .some
	cmp qword [gtp_gw_size], 0          ; (an empty object's one empty chunk)
	jne .done
.some:
	cmp rcx, GTP_CHUNK_MAX
	jbe .len_ok
	mov ecx, GTP_CHUNK_MAX
.len_ok:
	mov r14, rcx
	mov rsi, gtp_get_hash
	mov rdi, gtp_tx_payload + gtp_data.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov eax, [gtp_get_fid]
	mov [gtp_tx_payload + gtp_data.fid], eax
	mov rax, [gtp_get_pos]
	mov [gtp_tx_payload + gtp_data.offset], rax
	mov rdx, [gtp_gw_size]
	mov [gtp_tx_payload + gtp_data.total], rdx
	mov dl, [gtp_gw_type]
	mov [gtp_tx_payload + gtp_data.otype], dl
	mov byte [gtp_tx_payload + gtp_data.pad], 0
	mov word [gtp_tx_payload + gtp_data.pad + 1], 0
	mov rsi, [gtp_get_src]
	add rsi, rax
	mov rdi, gtp_tx_payload + gtp_data_size
	mov rcx, r14
	call gtp_copy
	mov rsi, gtp_tx_payload + gtp_data_size
	mov rcx, r14
	xor eax, eax
	call crc32_buffer
	mov [gtp_tx_payload + gtp_data.crc], eax
	mov al, GTP_T_DATA
	lea ecx, [r14 + gtp_data_size]
	mov edx, [gtp_get_ip]
	mov r8, net_rx_mac
	call gtp_send
	jc .done                            ; no slot: the asker re-requests what is missing
	inc qword [gtp_data_sent]
	test r14, r14
	jz .done                            ; the empty chunk was the whole object
	add [gtp_get_pos], r14
	jmp .chunk
.done:
	call rdtsc64
	sub rax, [gtp_serve_start]
	add [gtp_serve_tsc], rax
	ret
.not_here:
	mov rsi, gtp_get_hash
	mov rdi, gtp_tx_payload + gtp_not_here.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov eax, [gtp_get_fid]
	mov [gtp_tx_payload + gtp_not_here.fid], eax
	mov al, GTP_T_NOT_HERE
	mov ecx, gtp_not_here_size
	mov edx, [gtp_get_ip]
	mov r8, net_rx_mac
	call gtp_send
	ret
.size:
	mov eax, NET_DROP_SIZE
	jmp net_drop

; ---------------------------------------------------------------------------------------------
; gtp_rx_not_here -- NOT_HERE from the holder of our running fetch: ask the next one at once.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RSI, RDI
gtp_rx_not_here:
	call gtp_fetch_match
	jne .out
	mov byte [gtp_f_not_here], 1
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_fetch_match -- (internal) Is this frame for the running fetch: its hash (payload
; offset 0), fid (NOT_HERE and DATA both carry it at offset 20) and sender?
;  IN:  RSI = frame
;  OUT: ZF = 1 when it is
;  CLOBBERS: RAX, RCX, RDI
gtp_fetch_match:
	cmp byte [gtp_f_active], 0
	je .no
	mov eax, [rsi + gtp_hdr.sender]
	cmp eax, [gtp_f_node]
	jne .out
	mov eax, [rsi + gtp_hdr_size + gtp_data.fid]
	cmp eax, [gtp_f_fid]
	jne .out
	push rsi
	add rsi, gtp_hdr_size + gtp_data.hash
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	pop rsi
.out:
	ret
.no:
	or eax, 1                           ; ZF = 0
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_data -- DATA for the running fetch: the chunk must sit where the object's chunking
; puts it, have the length that place requires and match its CRC-32 (else bad_chunk); a new
; chunk goes into the fetch buffer and the bitmap. Its time adds to gtp_f_rx_tsc.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
gtp_rx_data:
	call rdtsc64
	push rax
	call gtp_rx_data_in
	call rdtsc64
	pop rdx
	sub rax, rdx
	add [gtp_f_rx_tsc], rax
	ret

; ---------------------------------------------------------------------------------------------
; gtp_rx_data_in -- (internal) gtp_rx_data's work.
;  IN:  RSI = frame
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI
gtp_rx_data_in:
	call gtp_fetch_match
	jne .out
	cmp byte [gtp_f_probe], 0
	je .sized
	; the fetch does not know the size yet: this DATA's total and type, checked as any chunk
	; against them (gtp_f_probe = 2 meanwhile; a bad chunk leaves the size unknown)
	mov rax, [rsi + gtp_hdr_size + gtp_data.total]
	cmp rax, GTP_OBJECT_MAX
	ja .bad
	movzx ecx, byte [rsi + gtp_hdr_size + gtp_data.otype]
	dec ecx
	cmp ecx, OBJ_TAG - 1
	ja .bad
	inc ecx
	mov [gtp_f_size], rax
	mov [gtp_f_type], cl
	mov byte [gtp_f_probe], 2
	test rax, rax
	jnz .sized
	; an empty object: one DATA at offset 0 with an empty chunk is all of it
	cmp qword [rsi + gtp_hdr_size + gtp_data.offset], 0
	jne .bad
	cmp word [rsi + gtp_hdr.length], gtp_data_size
	jne .bad
	mov qword [gtp_f_chunks], 0
	mov qword [gtp_f_next], 0
	jmp gtp_probe_done
.sized:
	mov rax, [rsi + gtp_hdr_size + gtp_data.total]
	cmp rax, [gtp_f_size]
	jne .bad
	mov rax, [rsi + gtp_hdr_size + gtp_data.offset]
	cmp rax, [gtp_f_size]
	jae .bad
	xor edx, edx
	mov ecx, GTP_CHUNK_MAX
	div rcx                             ; RAX = chunk index
	test rdx, rdx
	jnz .bad
	mov rbx, rax
	mov rcx, [gtp_f_size]               ; expected length: min(CHUNK_MAX, size - offset)
	sub rcx, [rsi + gtp_hdr_size + gtp_data.offset]
	cmp rcx, GTP_CHUNK_MAX
	jbe .want
	mov ecx, GTP_CHUNK_MAX
.want:
	movzx eax, word [rsi + gtp_hdr.length]
	sub eax, gtp_data_size
	cmp rax, rcx
	jne .bad
	push rsi
	add rsi, gtp_hdr_size + gtp_data_size
	xor eax, eax
	call crc32_buffer
	pop rsi
	cmp eax, [rsi + gtp_hdr_size + gtp_data.crc]
	jne .bad
	bts [gtp_f_bitmap], rbx
	jc .out                             ; a duplicate
	inc qword [gtp_f_got]
	mov rdi, [gtp_fetch_buf]
	add rdi, [rsi + gtp_hdr_size + gtp_data.offset]
	add rsi, gtp_hdr_size + gtp_data_size
	call gtp_copy
	cmp byte [gtp_f_probe], 2
	jne .out
	; the size is known now: the object's chunks (the windows asked past them are void)
	mov rax, [gtp_f_size]
	call gtp_chunks_of
	mov [gtp_f_chunks], rax
	cmp [gtp_f_next], rax
	jbe gtp_probe_done
	mov [gtp_f_next], rax
	jmp gtp_probe_done
.out:
	ret
.bad:
	cmp byte [gtp_f_probe], 2
	jne .counted
	mov byte [gtp_f_probe], 1           ; still unknown
	mov qword [gtp_f_size], 0
.counted:
	inc qword [gtp_bad_chunk]
	ret

; gtp_probe_done -- (internal, gtp_rx_data_in's tail) the size and type are known: the hash
; starts with their header.  CLOBBERS: RAX, RCX, RDX, RSI, RDI
gtp_probe_done:
	mov byte [gtp_f_probe], 0
	jmp gtp_hash_begin                  ; (the type was checked: it does not fail)

; ---------------------------------------------------------------------------------------------
; gtp_chunks_of -- The number of CHUNK_MAX chunks an object of RAX bytes travels in.
;  IN:  RAX = size
;  OUT: RAX = chunks
;  CLOBBERS: RCX, RDX
gtp_chunks_of:
	add rax, GTP_CHUNK_MAX - 1
	xor edx, edx
	mov ecx, GTP_CHUNK_MAX
	div rcx
	ret

; ---------------------------------------------------------------------------------------------
; gtp_copy -- Copies bytes 8 at a time, then the rest (under TCG each iteration of a string
; instruction costs about as much as one of a byte loop: qwords are 8x fewer).
;  IN:  RSI = source, RDI = destination, RCX = bytes (the areas do not overlap)
;  OUT: RSI, RDI past the bytes; RCX = 0
;  CLOBBERS: RAX
gtp_copy:
	mov rax, rcx
	shr rcx, 3
	rep movsq
	mov ecx, eax
	and ecx, 7
	rep movsb
	ret

; ---------------------------------------------------------------------------------------------
; gtp_wait_step -- One turn of a command's wait: feeds the watchdog, takes received frames and
; runs the protocol's timers (the main loop's work), then sleeps until the next interrupt when
; no frame is waiting (e1000_idle: at most a PIT tick, 1 ms).
;  IN:  nothing
;  OUT: nothing
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_wait_step:
	call watchdog_feed
	call e1000_poll
	call gtp_tick
	call e1000_idle
	ret

; ---------------------------------------------------------------------------------------------
; gtp_deadline -- A TSC deadline.
;  IN:  EAX = milliseconds from now
;  OUT: RAX = TSC value
;  CLOBBERS: RDX
gtp_deadline:
	mul qword [tsc_per_ms]
	push rax
	call rdtsc64
	pop rdx
	add rax, rdx
	ret

; ---------------------------------------------------------------------------------------------
; gtp_tsc_us -- TSC ticks to microseconds.
;  IN:  RAX = TSC ticks
;  OUT: RAX = microseconds
;  CLOBBERS: RDX
gtp_tsc_us:
	push rcx
	mov ecx, 1000
	mul rcx
	div qword [tsc_per_ms]
	pop rcx
	ret

; ---------------------------------------------------------------------------------------------
; gtp_query -- Asks the group who holds gtp_q_hash: WHO_HAS (a new qid each round), then
; GTP_QUERY_MS of listening, up to GTP_QUERY_TRIES rounds until someone answers. With
; gtp_q_settle set (a fetch), a round ends GTP_QUERY_SETTLE_MS after its first answer: every
; holder answers within (node mod 8) ms of the query, so the others are in by then; an answer
; from gtp_q_prefer (nonzero) ends it at once.
;  IN:  gtp_q_hash, gtp_q_settle, gtp_q_prefer
;  OUT: gtp_q_count answers in gtp_q_answers (node, ip, size, type, TSC delay), gtp_q_tries
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_query:
	mov dword [gtp_q_tries], 0
.round:
	inc dword [gtp_q_tries]
	inc dword [gtp_qid_next]
	mov eax, [gtp_qid_next]
	mov [gtp_q_qid], eax
	mov dword [gtp_q_count], 0
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
	call gtp_send
	mov eax, GTP_QUERY_MS
	call gtp_deadline
	mov [gtp_q_deadline], rax
.listen:
	call gtp_wait_step
	cmp byte [gtp_q_settle], 1          ; (0: off; 2: the settling deadline is set)
	jne .clock
	cmp dword [gtp_q_count], 0
	je .clock
	mov byte [gtp_q_settle], 2
	mov eax, GTP_QUERY_SETTLE_MS
	call gtp_deadline
	cmp rax, [gtp_q_deadline]
	jae .clock
	mov [gtp_q_deadline], rax
.clock:
	call rdtsc64
	cmp rax, [gtp_q_deadline]
	jb .listen
	cmp dword [gtp_q_count], 0
	jne .done
	cmp dword [gtp_q_tries], GTP_QUERY_TRIES
	jb .round
.done:
	mov byte [gtp_q_active], 0
	mov byte [gtp_q_settle], 0
	ret

; ---------------------------------------------------------------------------------------------
; gtp_parse_hash -- (internal) The command's argument: exactly 40 hex digits.
;  IN:  RSI = arguments
;  OUT: CF = 0 and [RDI] = the hash; CF = 1 (the caller says usage)
;  CLOBBERS: RAX, RCX, RDX, RSI
gtp_parse_hash:
	push rdi
	call gitfs_parse_hex20
	pop rdi
	jc .bad
	cmp byte [rsi], 0
	je .ok
	cmp byte [rsi], ' '
	jne .bad
.ok:
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; cmd_whohas -- `whohas HASH`: asks the group; one `EVENT i-have node=N ip=... size=N type=T
; us=T` per answer (us: from the query leaving to the answer arriving), then
; `EVENT whohas hash=... holders=N tries=N`.
;  IN:  RSI = arguments
;  OUT: CF = 0; CF = 1 on usage / no network
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
cmd_whohas:
	cmp byte [net_up], 0
	je .none
	mov rdi, gtp_q_hash
	call gtp_parse_hash
	jc .usage
	call gtp_query
	xor ebx, ebx
.answer:
	cmp ebx, [gtp_q_count]
	jae .summary
	mov r12d, ebx
	shl r12d, 5
	mov rsi, str_ev_i_have
	call event_begin
	mov rsi, str_net_key_node
	mov eax, [gtp_q_answers + r12]
	call event_kv_dec
	mov rsi, str_net_key_ip
	call event_key
	mov eax, [gtp_q_answers + r12 + 4]
	call net_put_ip
	mov rsi, str_key_size
	mov rax, [gtp_q_answers + r12 + 8]
	call event_kv_dec
	mov rsi, str_gtp_key_type
	mov rax, [gtp_q_answers + r12 + 16]
	call event_kv_dec
	mov rsi, str_gtp_key_us
	mov rax, [gtp_q_answers + r12 + 24]
	call gtp_tsc_us
	call event_kv_dec
	call event_end
	inc ebx
	jmp .answer
.summary:
	mov rsi, str_ev_whohas
	call event_begin
	mov rsi, str_gtp_key_hash
	call event_key
	mov rsi, gtp_q_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_gtp_key_holders
	mov eax, [gtp_q_count]
	call event_kv_dec
	mov rsi, str_gtp_key_tries
	mov eax, [gtp_q_tries]
	call event_kv_dec
	call event_end
	clc
	ret
.usage:
	mov rdx, str_usage
	jmp shell_error
.none:
	mov rdx, str_net_no_network
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; gtp_fetch_window -- (internal) Requests the missing chunks of the windows in flight again:
; one GET per run of missing chunks (a run split at GTP_WINDOW_CHUNKS).
;  IN:  gtp_f_win (first chunk not in), gtp_f_next (first chunk not asked for)
;  OUT: gtp_f_sent = GETs sent
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
gtp_fetch_window:
	mov qword [gtp_f_sent], 0
	mov r10, [gtp_f_win]
.skip:
	cmp r10, [gtp_f_next]
	jae .out
	bt [gtp_f_bitmap], r10
	jnc .run
	inc r10
	jmp .skip
.run:
	mov rbx, r10                        ; first missing
.extend:
	inc r10
	cmp r10, [gtp_f_next]
	jae .send
	mov rax, r10
	sub rax, rbx
	cmp rax, GTP_WINDOW_CHUNKS
	jae .send
	bt [gtp_f_bitmap], r10
	jnc .extend
.send:
	call gtp_send_get
	inc qword [gtp_f_sent]
	jmp .skip
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_fetch_ask -- (internal) Asks for new windows (GTP_WINDOW_CHUNKS chunks each) while fewer
; than GTP_PIPELINE windows' worth of chunks are in flight.
;  IN:  gtp_f_win, gtp_f_next, gtp_f_chunks
;  OUT: gtp_f_next advanced
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R10
gtp_fetch_ask:
	mov rbx, [gtp_f_next]
	cmp rbx, [gtp_f_chunks]
	jae .out
	lea rax, [rbx + GTP_WINDOW_CHUNKS]
	sub rax, [gtp_f_win]
	cmp rax, GTP_PIPELINE * GTP_WINDOW_CHUNKS
	ja .out
	lea r10, [rbx + GTP_WINDOW_CHUNKS]
	cmp r10, [gtp_f_chunks]
	jbe .end_ok
	mov r10, [gtp_f_chunks]
.end_ok:
	mov [gtp_f_next], r10
	call gtp_send_get
	jmp gtp_fetch_ask
.out:
	ret

; ---------------------------------------------------------------------------------------------
; gtp_send_get -- (internal) One GET to the running fetch's holder for chunks [RBX, R10).
;  IN:  RBX = first chunk, R10 = chunk past the last (at most GTP_WINDOW_CHUNKS more)
;  OUT: nothing (a GET that finds no transmit slot is re-requested after a silence)
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8, R9
gtp_send_get:
	push rbx
	push r10
	mov rsi, gtp_f_hash
	mov rdi, gtp_tx_payload + gtp_get.hash
	mov ecx, HASH_SIZE
	rep movsb
	mov rax, rbx
	imul rax, rax, GTP_CHUNK_MAX
	mov [gtp_tx_payload + gtp_get.offset], rax
	mov rcx, r10
	sub rcx, rbx
	imul rcx, rcx, GTP_CHUNK_MAX
	mov [gtp_tx_payload + gtp_get.length], ecx
	mov eax, [gtp_f_fid]
	mov [gtp_tx_payload + gtp_get.fid], eax
	mov al, GTP_T_GET
	mov ecx, gtp_get_size
	mov edx, [gtp_f_ip]
	xor r8d, r8d
	call gtp_send
	pop r10
	pop rbx
	ret

; ---------------------------------------------------------------------------------------------
; gtp_fetch_arm -- (internal) The running fetch's silence deadline: GTP_WINDOW_MS from now.
;  IN:  nothing
;  OUT: gtp_f_deadline
;  CLOBBERS: RAX, RDX
gtp_fetch_arm:
	mov eax, GTP_WINDOW_MS
	call gtp_deadline
	mov [gtp_f_deadline], rax
	ret

; ---------------------------------------------------------------------------------------------
; gtp_hash_begin -- (internal) Starts the running fetch's SHA-1 with the object header
; "<type> <size>\0".
;  IN:  gtp_f_type, gtp_f_size
;  OUT: CF = 0; CF = 1 for an unknown type
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI
gtp_hash_begin:
	movzx eax, byte [gtp_f_type]
	dec eax
	cmp eax, OBJ_TAG - 1
	ja .bad
	mov rsi, [gtp_type_names + rax * 8]
	mov rdi, gtp_f_hdr
.name:
	lodsb
	stosb
	test al, al
	jnz .name
	mov byte [rdi - 1], ' '
	mov rax, [gtp_f_size]               ; decimal, most significant digit first
	xor ecx, ecx
.div:
	xor edx, edx
	push rcx
	mov ecx, 10
	div rcx
	pop rcx
	add dl, '0'
	push rdx
	inc ecx
	test rax, rax
	jnz .div
.digit:
	pop rax
	stosb
	dec ecx
	jnz .digit
	xor al, al
	stosb
	mov rcx, rdi
	sub rcx, gtp_f_hdr                  ; with its terminating zero
	mov rdi, gtp_f_sha
	call sha1_init
	mov rsi, gtp_f_hdr
	call sha1_update
	clc
	ret
.bad:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_hash_ready -- (internal) Feeds the running fetch's SHA-1 the chunks that are in, in order
; from gtp_f_win, and moves gtp_f_win past them.
;  IN:  gtp_f_win, gtp_f_bitmap, gtp_f_chunks
;  OUT: CF = 0 when gtp_f_win moved; CF = 1 no progress
;  CLOBBERS: RAX, RCX, RDX, RSI, RDI, R8, R9
gtp_hash_ready:
	mov r8, [gtp_f_win]
	mov r9, r8
.chunk:
	cmp r9, [gtp_f_chunks]
	jae .done
	bt [gtp_f_bitmap], r9
	jnc .done
	inc r9
	jmp .chunk
.done:
	cmp r9, r8
	je .none
	mov rax, r8
	imul rax, rax, GTP_CHUNK_MAX
	mov rsi, [gtp_fetch_buf]
	add rsi, rax
	mov rcx, r9
	imul rcx, rcx, GTP_CHUNK_MAX
	cmp rcx, [gtp_f_size]
	jbe .len
	mov rcx, [gtp_f_size]
.len:
	sub rcx, rax
	mov rdi, gtp_f_sha
	push rcx
	call rdtsc64
	pop rcx
	push rax
	call sha1_update
	call rdtsc64
	pop rdx
	sub rax, rdx
	add [gtp_f_hash_tsc], rax
	mov [gtp_f_win], r9
	clc
	ret
.none:
	stc
	ret

; ---------------------------------------------------------------------------------------------
; gtp_fetch_event_begin -- Opens the shell's `EVENT fetch hash=... size=N type=T from=NODE|local
; us=T chunks=N retransmits=N` for the fetch just done (`fetch HASH`, and `fetch HASH BASE`);
; the caller adds its own fields and ends the event.
;  IN:  R12D = the holder's node (0: stored here already), RBX = TSC at the fetch's start;
;       gtp_f_hash, gtp_f_size, gtp_f_type, gtp_f_got, gtp_f_retx
;  OUT: nothing
;  CLOBBERS: RAX, RCX, RDX, RSI
gtp_fetch_event_begin:
	mov rsi, str_ev_fetch
	call event_begin
	mov rsi, str_gtp_key_hash
	call event_key
	mov rsi, gtp_f_hash
	mov ecx, HASH_SIZE
	call serial_put_hexbytes
	mov rsi, str_key_size
	mov rax, [gtp_f_size]
	call event_kv_dec
	mov rsi, str_gtp_key_type
	movzx eax, byte [gtp_f_type]
	call event_kv_dec
	mov rsi, str_gtp_key_from
	test r12d, r12d
	jz .local
	mov eax, r12d
	call event_kv_dec
	jmp .from
.local:
	mov rdx, str_gtp_local
	call event_kv_str
.from:
	mov rsi, str_gtp_key_us
	call rdtsc64
	sub rax, rbx
	call gtp_tsc_us
	call event_kv_dec
	mov rsi, str_gtp_key_chunks
	mov rax, [gtp_f_got]
	call event_kv_dec
	mov rsi, str_gtp_key_retx
	mov rax, [gtp_f_retx]
	call event_kv_dec
	ret

; ---------------------------------------------------------------------------------------------
; cmd_fetch -- `fetch HASH`: finds holders (holder cache, else WHO_HAS), fetches the object into
; the fetch buffer by GET windows, GTP_PIPELINE in flight (re-requesting missing ranges after
; 100 ms without progress, counted retransmits; 5 silent tries or NOT_HERE: the next holder),
; hashing the chunks as they arrive in order, verifies its SHA-1 (bad_object: the next
; holder), stores it in GitFS (one transaction) and multicasts HAVE.
; `EVENT fetch hash=... size=N type=T from=NODE us=T chunks=N retransmits=N xfer_us=T
; rx_us=T hash_us=T verify_us=T store_us=T` (the transfer with its hashing; of it, the DATA
; frames' checks and copies and the SHA-1; the final check; the store); an
; object already stored: from=local. Errors: usage, no-network, out-of-memory, too-big, timeout
; (no holder answered), no-holder (every holder failed), bad-object (every holder failed, and
; at least one served bytes that did not hash to the object), and GitFS's. The object is
; pinned (pol_pin): the placement loop does not demote it.
;  IN:  RSI = arguments
;  OUT: CF = 0 stored; CF = 1 error printed
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
cmd_fetch:
	cmp byte [net_up], 0
	je .none
	mov rdi, gtp_f_hash
	call gtp_parse_hash
	jc .usage
	call fs_begin
	jc .out
	call gtp_fetch_object
	jc .failed
	mov r12d, eax
	mov rsi, gtp_f_hash
	call pol_pin                        ; asked for here: the placement keeps it
	mov rbx, [gtp_f_start]
	call gtp_fetch_event_begin
	mov rsi, str_gtp_key_xfer_us
	mov rax, [gtp_f_xfer_us]
	call event_kv_dec
	mov rsi, str_gtp_key_rx_us
	mov rax, [gtp_f_rx_tsc]
	call gtp_tsc_us
	call event_kv_dec
	mov rsi, str_gtp_key_hash_us
	mov rax, [gtp_f_hash_tsc]
	call gtp_tsc_us
	call event_kv_dec
	mov rsi, str_gtp_key_verify_us
	mov rax, [gtp_f_verify_us]
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
.none:
	mov rdx, str_net_no_network
	jmp shell_error

; ---------------------------------------------------------------------------------------------
; gtp_fetch_object -- Fetches gtp_f_hash into GitFS unless it is stored already (the work of
; `fetch`, also used by CONTROL COMMIT): holders from the cache, else WHO_HAS; GET windows
; (GTP_PIPELINE in flight) hashed in chunk order as they arrive; SHA-1 check; one GitFS
; transaction; HAVE to the group. When every holder failed, it forgets them and asks the
; group once more before giving up (no-holder), if they came from the cache or one went
; silent. With gtp_f_transient set (a transparent read, gtp_policy.asm) the verified object
; stays in gtp_fetch_buf: nothing stored, no HAVE.
;  IN:  gtp_f_hash, gtp_f_transient; the arena released (fs_begin)
;  OUT: CF = 0: EAX = the node it came from (0: stored already), gtp_f_size, gtp_f_type,
;       gtp_f_got, gtp_f_retx, gtp_f_start; CF = 1: RDX = reason string, or 0 for a GitFS
;       error (gitfs_error)
;  CLOBBERS: RAX, RBX, RCX, RDX, RSI, RDI, R8-R15
gtp_fetch_object:
	call rdtsc64
	mov [gtp_f_start], rax
	mov qword [gtp_f_retx], 0
	mov byte [gtp_f_queried], 0
	mov byte [gtp_f_requeried], 0
	mov byte [gtp_f_silent], 0
	mov byte [gtp_f_entry_tried], 0
	mov byte [gtp_f_bad], 0
	mov qword [gtp_f_rx_tsc], 0
	mov qword [gtp_f_hash_tsc], 0
	mov qword [gtp_f_xfer_us], 0
	mov qword [gtp_f_verify_us], 0
	mov qword [gtp_f_store_us], 0
	mov rsi, gtp_f_hash
	call gtp_object_info
	jnc .local
	cmp qword [gtp_fetch_buf], 0
	je .nomem
	mov rsi, gtp_f_hash
	call gtp_holder_find
	jnc .have_holders
.ask:
	mov byte [gtp_f_queried], 1
	mov rsi, gtp_f_hash
	mov rdi, gtp_q_hash
	mov ecx, HASH_SIZE
	rep movsb
	mov byte [gtp_q_settle], 1          ; a fetch needs the holders, not the full round
	call gtp_query
	cmp dword [gtp_q_count], 0
	je .nobody
	mov rsi, gtp_f_hash
	call gtp_holder_find
	jc .nobody
.have_holders:
	mov [gtp_f_entry], rbx
	mov rax, [rbx + gtp_holder.size]
	cmp rax, GTP_SIZE_UNKNOWN
	je .size_ok
	cmp rax, GTP_OBJECT_MAX
	ja .too_big
.size_ok:
	mov qword [gtp_f_holder], 0
	mov byte [gtp_f_entry_tried], 1
.holder:
	mov rbx, [gtp_f_entry]
	mov rcx, [gtp_f_holder]
	movzx eax, byte [rbx + gtp_holder.count]
	cmp rcx, rax
	jae .holders_spent
	; the size and type the holders said; GTP_SIZE_UNKNOWN (a referral sync recorded, whose
	; holders were seeded without a WHO_HAS): this holder's first DATA tells them (gtp_f_probe,
	; gtp_rx_data_in), so the first window asks for one window's worth
	mov al, [rbx + gtp_holder.otype]
	mov [gtp_f_type], al
	mov byte [gtp_f_probe], 0
	mov rax, [rbx + gtp_holder.size]
	cmp rax, GTP_SIZE_UNKNOWN
	jne .size_said
	mov byte [gtp_f_probe], 1
	xor eax, eax
.size_said:
	mov [gtp_f_size], rax
	mov eax, [rbx + gtp_holder.nodes + rcx * 4]
	mov [gtp_f_node], eax
	mov eax, [rbx + gtp_holder.ips + rcx * 4]
	mov [gtp_f_ip], eax
	inc dword [gtp_fid_next]
	mov eax, [gtp_fid_next]
	mov [gtp_f_fid], eax
	mov rdi, gtp_f_bitmap
	xor eax, eax
	mov ecx, (GTP_CHUNKS_MAX + 63) / 64 * 8
	rep stosb
	mov qword [gtp_f_got], 0
	mov byte [gtp_f_not_here], 0
	mov byte [gtp_f_active], 1
	mov rax, [gtp_f_size]               ; chunks in the object
	call gtp_chunks_of
	mov [gtp_f_chunks], rax
	mov qword [gtp_f_win], 0            ; chunks before it are in and hashed
	mov qword [gtp_f_next], 0           ; chunks from it are not asked for yet
	mov qword [gtp_f_tries], 0
	cmp byte [gtp_f_probe], 0
	je .sized
	mov qword [gtp_f_chunks], GTP_WINDOW_CHUNKS ; until the first DATA says (it hashes then)
	jmp .hashing
.sized:
	call gtp_hash_begin
	jc .next_holder                     ; a type the holder should not have given
.hashing:
	call rdtsc64
	mov [gtp_f_xfer_us], rax            ; (TSC at the start; microseconds once done)
	call gtp_fetch_arm
	mov rax, [gtp_f_win]
	cmp rax, [gtp_f_chunks]
	jae .complete                       ; an empty object: nothing to ask for
; keep GTP_PIPELINE windows in flight; hash what arrived in order; re-request after a silence
.pump:
	call gtp_fetch_ask
.wait:
	call gtp_wait_step
	cmp byte [gtp_f_not_here], 0
	jne .next_holder
	call gtp_hash_ready
	jc .no_progress
	mov qword [gtp_f_tries], 0
	call gtp_fetch_arm
	mov rax, [gtp_f_win]
	cmp rax, [gtp_f_chunks]
	jb .pump
	jmp .complete
.no_progress:
	cmp byte [gtp_f_probe], 0
	jne .silence
	mov rax, [gtp_f_win]
	cmp rax, [gtp_f_chunks]
	jae .complete                       ; an empty object, its size learnt from its one DATA
.silence:
	call rdtsc64
	cmp rax, [gtp_f_deadline]
	jb .wait
	inc qword [gtp_f_tries]             ; GTP_WINDOW_MS without progress
	cmp qword [gtp_f_tries], GTP_WINDOW_TRIES
	jae .silent_holder
	call gtp_fetch_window               ; what is missing of the windows in flight
	mov rax, [gtp_f_sent]
	add [gtp_f_retx], rax
	add [gtp_retransmits], rax
	call gtp_fetch_arm
	jmp .wait
.complete:
	; every chunk in and hashed: the object must hash to what was asked
	call rdtsc64
	mov rbx, rax
	sub rax, [gtp_f_xfer_us]
	call gtp_tsc_us
	mov [gtp_f_xfer_us], rax
	mov rdi, gtp_f_sha
	mov rdx, gtp_f_digest
	call sha1_final
	call rdtsc64
	sub rax, rbx
	call gtp_tsc_us
	mov [gtp_f_verify_us], rax
	mov rsi, gtp_f_digest
	mov rdi, gtp_f_hash
	mov ecx, HASH_SIZE
	repe cmpsb
	jne .bad_object
	mov byte [gtp_f_active], 0
	jmp .store
.bad_object:
	inc qword [gtp_bad_object]
	mov byte [gtp_f_bad], 1
	jmp .next_holder
.silent_holder:
	mov byte [gtp_f_silent], 1          ; stalled or gone: a fresh WHO_HAS tells which
.next_holder:
	mov byte [gtp_f_active], 0
	inc qword [gtp_f_holder]
	jmp .holder
.store:
	cmp byte [gtp_f_transient], 0
	jne .transient
	call watchdog_feed                  ; storing 16 MiB takes a while
	call rdtsc64
	mov [gtp_f_store_us], rax
	mov rcx, [gtp_f_size]
	call gitfs_tx_begin
	jc .fs_error
	mov dl, [gtp_f_type]
	mov rsi, [gtp_fetch_buf]
	mov rcx, [gtp_f_size]
	mov rdi, gtp_f_digest               ; checked against gtp_f_hash above
	call gitfs_tx_put_hashed
	jc .fs_error
	call gitfs_tx_publish
	jc .fs_error
	mov rax, FS_ARENA_ADDR
	call gitfs_compact
	call gitfs_mark
	mov [fs_arena_base], rax
	call rdtsc64
	sub rax, [gtp_f_store_us]
	call gtp_tsc_us
	mov [gtp_f_store_us], rax
	; HAVE to the group
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
	mov eax, [gtp_f_node]
	clc
	ret
.transient:
	mov eax, [gtp_f_node]               ; verified, left in gtp_fetch_buf (a transparent read)
	clc
	ret
.local:
	mov [gtp_f_size], rax
	mov [gtp_f_type], dl
	mov qword [gtp_f_got], 0
	xor eax, eax                        ; from=local
	clc
	ret
; every holder failed: forget them and ask the group once more, when they came from the cache
; (holders change) or one of them went silent (a stalled holder answers again); not when this
; fetch's own WHO_HAS found them and they refused (NOT_HERE) or served bad bytes
.holders_spent:
	mov byte [gtp_f_active], 0
	cmp byte [gtp_f_requeried], 0
	jne .no_holder
	cmp byte [gtp_f_queried], 0
	je .requery
	cmp byte [gtp_f_silent], 0
	je .no_holder
.requery:
	mov byte [gtp_f_requeried], 1
	mov rbx, [gtp_f_entry]
	mov byte [rbx + gtp_holder.count], 0
	jmp .ask
.nobody:
	cmp byte [gtp_f_entry_tried], 0     ; (set below) holders were tried: none left
	jne .no_holder
	jmp .timeout
; errors: CF = 1, RDX = reason (0: GitFS's, in gitfs_error)
.fs_error:
	mov byte [gtp_f_active], 0
	xor edx, edx
	stc
	ret
.nomem:
	mov rdx, str_gtp_out_of_memory
	stc
	ret
.too_big:
	mov rdx, str_too_big
	stc
	ret
.timeout:
	mov rdx, str_gtp_timeout
	stc
	ret
.no_holder:
	mov byte [gtp_f_active], 0
	mov rdx, str_gtp_no_holder
	cmp byte [gtp_f_bad], 0
	je .no_holder_out
	mov rdx, str_gtp_bad_object         ; what a holder sent did not hash to what was asked
.no_holder_out:
	stc
	ret

align 8
gtp_type_names:      dq gtp_tn_commit, gtp_tn_tree, gtp_tn_blob, gtp_tn_tag   ; OBJ_COMMIT..OBJ_TAG
gtp_tn_commit:       db "commit", 0
gtp_tn_tree:         db "tree", 0
gtp_tn_blob:         db "blob", 0
gtp_tn_tag:          db "tag", 0

str_ev_i_have:       db "i-have", 0
str_ev_whohas:       db "whohas", 0
str_ev_fetch:        db "fetch", 0
str_gtp_key_type:    db "type", 0
str_gtp_key_us:      db "us", 0
str_gtp_key_hash:    db "hash", 0
str_gtp_key_holders: db "holders", 0
str_gtp_key_tries:   db "tries", 0
str_gtp_key_from:    db "from", 0
str_gtp_key_chunks:  db "chunks", 0
str_gtp_key_retx:    db "retransmits", 0
str_gtp_key_xfer_us: db "xfer_us", 0
str_gtp_key_verify_us: db "verify_us", 0
str_gtp_key_rx_us:   db "rx_us", 0
str_gtp_key_hash_us: db "hash_us", 0
str_gtp_key_store_us: db "store_us", 0
str_gtp_local:       db "local", 0
str_gtp_out_of_memory: db "out-of-memory", 0
str_gtp_timeout:     db "timeout", 0
str_gtp_no_holder:   db "no-holder", 0
str_gtp_bad_object:  db "bad-object", 0

	section .bss
	alignb 8
gtp_f_transient:    resb 1              ; 1: gtp_fetch_object verifies but does not store
alignb 8
gtp_fetch_buf:      resq 1              ; GTP_OBJECT_MAX bytes at the top of RAM (0: none)
gtp_serve_buf:      resq 1
gtp_serve_size:     resq 1
gtp_info_size:      resq 1
gtp_ans_size:       resq 1
gtp_get_pos:        resq 1
gtp_get_end:        resq 1
gtp_gw_size:        resq 1
gtp_get_src:        resq 1
gtp_info_pos:       resq 1
gtp_f_next:         resq 1
gtp_f_xfer_us:      resq 1
gtp_f_verify_us:    resq 1
gtp_f_store_us:     resq 1
gtp_f_rx_tsc:       resq 1              ; TSC spent on DATA frames (checks, copy) this fetch
gtp_f_hash_tsc:     resq 1              ; TSC spent in SHA-1 this fetch
gtp_serve_start:    resq 1
gtp_serve_t0:       resq 1
gtp_serve_tsc:      resq 1              ; TSC spent serving GET windows (disk, chunks, sends)
gtp_serve_disk_tsc: resq 1              ; of which reading the windows' sectors
gtp_q_start:        resq 1
gtp_q_deadline:     resq 1
gtp_f_start:        resq 1
gtp_f_deadline:     resq 1
gtp_f_size:         resq 1
gtp_f_entry:        resq 1
gtp_f_holder:       resq 1
gtp_f_got:          resq 1
gtp_f_win:          resq 1
gtp_f_chunks:       resq 1
gtp_f_tries:        resq 1
gtp_f_sent:         resq 1
gtp_f_retx:         resq 1
gtp_get_fid:        resd 1
gtp_get_ip:         resd 1
gtp_q_qid:          resd 1
gtp_q_prefer:       resd 1              ; a node whose I_HAVE ends a fetch's round (0: none)
gtp_q_count:        resd 1
gtp_q_tries:        resd 1
gtp_qid_next:       resd 1
gtp_fid_next:       resd 1
gtp_f_fid:          resd 1
gtp_f_node:         resd 1
gtp_f_ip:           resd 1
gtp_asked_next:     resd 1
gtp_serve_type:     resb 1
gtp_info_type:      resb 1
gtp_info_valid:     resb 1
gtp_info_storage:   resb 1
gtp_gw_type:        resb 1
gtp_ans_type:       resb 1
gtp_info_hash:      resb HASH_SIZE
gtp_serve_valid:    resb 1
gtp_q_active:       resb 1
gtp_q_settle:       resb 1              ; 1: end the round soon after its first answer
gtp_f_active:       resb 1
gtp_f_not_here:     resb 1
gtp_f_type:         resb 1
gtp_f_queried:      resb 1              ; a WHO_HAS of this fetch's own was asked
gtp_f_requeried:    resb 1              ; ... once more, after every holder failed
gtp_f_silent:       resb 1              ; a holder was left for silence
gtp_f_probe:        resb 1              ; 1: the size is unknown until a DATA says (2: checking one)
gtp_f_entry_tried:  resb 1
gtp_f_bad:          resb 1              ; a holder served bytes that failed the hash
gtp_serve_hash:     resb HASH_SIZE
gtp_get_hash:       resb HASH_SIZE
gtp_q_hash:         resb HASH_SIZE
gtp_f_hash:         resb HASH_SIZE
gtp_f_digest:       resb HASH_SIZE
	alignb 8
gtp_asked:          resq GTP_ASKED_SLOTS ; (asker, qid) pairs answered
gtp_q_answers:      resb GTP_QUERY_ANSWERS * 32   ; node, ip, size, type, TSC delay
gtp_answers:        resb GTP_ANSWER_SLOTS * gtp_answer_size
gtp_holder_cache:   resb GTP_HOLDER_SLOTS * gtp_holder_size
gtp_f_bitmap:       resq (GTP_CHUNKS_MAX + 63) / 64
	alignb 16
gtp_rec_sector:     resb SECTOR_SIZE
gtp_win_buf:        resb GTP_GET_MAX + 2 * SECTOR_SIZE   ; a raw GET window's sectors
gtp_f_sha:          resb sha1_ctx_size  ; the running fetch's SHA-1, fed in chunk order
gtp_f_hdr:          resb 32             ; "<type> <size>\0"
	section .text
