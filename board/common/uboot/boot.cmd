# strata's U-Boot boot script (compiled with mkimage by tools/mkbootfs).
# U-Boot's distro boot finds it on the disk's legacy-bootable "boot"
# partition and runs it with ${devtype} ${devnum} set. tools/mkbootfs
# replaces the @NAME@ words with the board's values.
#
# bootloader = none: one kernel and initramfs, on boot-a; strata-init picks
# the root slot itself from its slot record.
# bootloader = uboot: a slot is a group (boot-a + root-a, boot-b + root-b).
# The state is a redundant U-Boot environment pair on the raw "bootstate"
# partition, libubootenv's layout (CRC-32, a flags byte counting up, then
# the variables): copy 0 at block @STATE_LBA0@, copy 1 at @STATE_LBA1@,
# @ENV_SIZE@ bytes each. This script reads both, uses the newest valid copy,
# and writes only when it takes a try from a slot on trial, into the other
# copy, so a cut leaves the copy it read intact. Variables:
#   strata_order      "a b" or "b a": the slot to boot first, then the fallback
#   strata_a/strata_b good | trial | bad
#   strata_a_tries    tries left for a slot on trial (hex, as setexpr counts)
echo "strata-boot: script starting (bootloader = @BOOTLOADER@)"
setenv strata_slot a
setenv strata_words
if test "@BOOTLOADER@" = uboot; then
  setenv strata_valid0 0
  setenv strata_valid1 0
  virtio dev ${devnum}
  # A copy that cannot be read is zeroed, so its CRC fails and the other is used.
  if virtio read @ADDR_COPY0@ @STATE_LBA0@ @ENV_BLOCKS@; then setenv strata_read ok; else
    echo "strata-boot: cannot read copy 0 of the bootloader state (block @STATE_LBA0@): read error"
    mw.b @ADDR_COPY0@ 0 @ENV_SIZE@
  fi
  if virtio read @ADDR_COPY1@ @STATE_LBA1@ @ENV_BLOCKS@; then setenv strata_read ok; else
    echo "strata-boot: cannot read copy 1 of the bootloader state (block @STATE_LBA1@): read error"
    mw.b @ADDR_COPY1@ 0 @ENV_SIZE@
  fi
  setexpr.b strata_flags0 *@ADDR_FLAGS0@
  setexpr.b strata_flags1 *@ADDR_FLAGS1@
  # A copy is valid when the CRC-32 of its data matches its first 4 bytes
  # (little-endian). This U-Boot has no crc32 -v: crc32 stores the sum
  # big-endian at @ADDR_CRC@, compared here byte by byte.
  setenv strata_check 'setenv strata_ok 0; setexpr strata_p ${strata_base} + 5; crc32 ${strata_p} @DATA_SIZE@ @ADDR_CRC@; setexpr.b strata_s0 *${strata_base}; setexpr strata_p ${strata_base} + 1; setexpr.b strata_s1 *${strata_p}; setexpr strata_p ${strata_base} + 2; setexpr.b strata_s2 *${strata_p}; setexpr strata_p ${strata_base} + 3; setexpr.b strata_s3 *${strata_p}; setexpr.b strata_c0 *@ADDR_CRC_3@; setexpr.b strata_c1 *@ADDR_CRC_2@; setexpr.b strata_c2 *@ADDR_CRC_1@; setexpr.b strata_c3 *@ADDR_CRC@; if test ${strata_s0} = ${strata_c0} && test ${strata_s1} = ${strata_c1} && test ${strata_s2} = ${strata_c2} && test ${strata_s3} = ${strata_c3}; then setenv strata_ok 1; fi'
  setenv strata_base @ADDR_COPY0@
  run strata_check
  setenv strata_valid0 ${strata_ok}
  setenv strata_base @ADDR_COPY1@
  run strata_check
  setenv strata_valid1 ${strata_ok}
  # The newer of two valid copies: flags one ahead (mod 256), as libubootenv counts.
  setenv strata_copy none
  if test ${strata_valid0} = 1; then setenv strata_copy 0; fi
  if test ${strata_valid1} = 1; then
    if test ${strata_copy} = none; then
      setenv strata_copy 1
    else
      setexpr strata_d ${strata_flags1} - ${strata_flags0}
      setexpr strata_d ${strata_d} \& 80
      setexpr strata_e ${strata_flags1} - ${strata_flags0}
      setexpr strata_e ${strata_e} \& ff
      if test ${strata_d} = 0 && test ${strata_e} != 0; then setenv strata_copy 1; fi
    fi
  fi
  if test ${strata_copy} = none; then
    echo "strata-boot: bootloader state: no valid copy (blank, torn or unreadable): booting slot a, writing nothing"
    setenv strata_words "strata.slot=a strata.bootstate=none"
  else
    if test ${strata_copy} = 0; then
      env import -b @ADDR_DATA0@ @DATA_SIZE@ strata_order strata_a strata_b strata_a_tries strata_b_tries
      setenv strata_flags ${strata_flags0}
    else
      env import -b @ADDR_DATA1@ @DATA_SIZE@ strata_order strata_a strata_b strata_a_tries strata_b_tries
      setenv strata_flags ${strata_flags1}
    fi
    echo "strata-boot: bootloader state copy ${strata_copy} (flags ${strata_flags}): order ${strata_order}, a ${strata_a} (${strata_a_tries}), b ${strata_b} (${strata_b_tries})"
    setenv strata_pick
    setenv strata_why
    for s in ${strata_order}; do
      if test -z "${strata_pick}"; then
        setenv strata_get "setenv strata_st \${strata_${s}}; setenv strata_tr \${strata_${s}_tries}"
        run strata_get
        if test "${strata_st}" = good; then
          setenv strata_pick ${s}
        elif test "${strata_st}" = trial; then
          if test -z "${strata_tr}" || test "${strata_tr}" = 0; then
            echo "strata-boot: slot ${s} is on trial with no tries left: not booted"
            setenv strata_why "strata.bootfallback=${s}"
          else
            setexpr strata_tr ${strata_tr} - 1
            setenv strata_${s}_tries ${strata_tr}
            # Write the decrement into the copy not read, flags one ahead.
            setexpr strata_nf ${strata_flags} + 1
            setexpr strata_nf ${strata_nf} \& ff
            # The copy: zeros, the variables (env export -b), the flags, then
            # the CRC-32 of the data stored little-endian (crc32 stores it
            # big-endian; this U-Boot's env export -c sums its own ENV_SIZE).
            mw.b @ADDR_OUT@ 0 @ENV_SIZE@
            env export -b @ADDR_OUT_DATA@ @DATA_SIZE@ strata_order strata_a strata_b strata_a_tries strata_b_tries
            mw.b @ADDR_OUT_FLAGS@ ${strata_nf} 1
            crc32 @ADDR_OUT_DATA@ @DATA_SIZE@ @ADDR_CRC@
            setexpr.b strata_c0 *@ADDR_CRC_3@
            setexpr.b strata_c1 *@ADDR_CRC_2@
            setexpr.b strata_c2 *@ADDR_CRC_1@
            setexpr.b strata_c3 *@ADDR_CRC@
            mw.b @ADDR_OUT@ ${strata_c0} 1
            mw.b @ADDR_OUT_1@ ${strata_c1} 1
            mw.b @ADDR_OUT_2@ ${strata_c2} 1
            mw.b @ADDR_OUT_3@ ${strata_c3} 1
            if test ${strata_copy} = 0; then setenv strata_wlba @STATE_LBA1@; else setenv strata_wlba @STATE_LBA0@; fi
            echo "strata-boot: slot ${s} on trial: writing tries left ${strata_tr} to block ${strata_wlba}"
            if virtio write @ADDR_OUT@ ${strata_wlba} @ENV_BLOCKS@; then
              echo "strata-boot: state written"
              setenv strata_pick ${s}
              setenv strata_words "strata.trial=${strata_tr}"
            else
              echo "strata-boot: cannot write the bootloader state: slot ${s} not booted on trial"
            fi
          fi
        else
          echo "strata-boot: slot ${s} is ${strata_st}: not booted"
        fi
      fi
    done
    if test -z "${strata_pick}"; then
      echo "strata-boot: no bootable slot in the state: booting slot a"
      setenv strata_pick a
    fi
    setenv strata_slot ${strata_pick}
    setenv strata_words "strata.slot=${strata_slot} ${strata_words} ${strata_why}"
  fi
fi
if test ${strata_slot} = b; then setenv strata_part @PART_BOOT_B@; else setenv strata_part @PART_BOOT_A@; fi
setenv strata_cmdline
if load ${devtype} ${devnum}:${strata_part} ${scriptaddr} cmdline.txt; then
  env import -t ${scriptaddr} ${filesize} strata_cmdline
fi
setenv bootargs "@CMDLINE@ ${strata_cmdline} ${strata_words}"
echo "strata-boot: loading slot ${strata_slot} (partition ${strata_part})"
if load ${devtype} ${devnum}:${strata_part} ${kernel_addr_r} vmlinuz; then
  if load ${devtype} ${devnum}:${strata_part} ${ramdisk_addr_r} initrd.img; then
    echo "strata-boot: booting slot ${strata_slot}: ${bootargs}"
    @BOOTCMD@ ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
  fi
fi
echo "strata-boot: slot ${strata_slot} did not boot; resetting"
reset
